namespace Pinhole.Messaging.MessagePack;

/// <summary>The family of a MessagePack value, as told by its first byte.</summary>
public enum MessagePackType
{
    /// <summary>The reserved byte 0xc1, which no valid message contains.</summary>
    Unknown = 0,
    /// <summary>nil (0xc0).</summary>
    Nil,
    /// <summary>true or false.</summary>
    Boolean,
    /// <summary>Any integer format: fixint, uint 8-64, int 8-64.</summary>
    Integer,
    /// <summary>float 32 or float 64.</summary>
    Float,
    /// <summary>UTF-8 text: fixstr, str 8/16/32.</summary>
    String,
    /// <summary>Raw bytes: bin 8/16/32.</summary>
    Binary,
    /// <summary>fixarray, array 16/32.</summary>
    Array,
    /// <summary>fixmap, map 16/32.</summary>
    Map,
    /// <summary>fixext 1-16, ext 8/16/32 (including the timestamp extension, type -1).</summary>
    Extension,
}
