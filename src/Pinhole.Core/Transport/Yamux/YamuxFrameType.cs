namespace Pinhole.Transport.Yamux;

/// <summary>The yamux frame types (the header's type byte).</summary>
internal enum YamuxFrameType : byte
{
    /// <summary>Stream data; the length field is the payload length.</summary>
    Data = 0,
    /// <summary>Stream window update; the length field is the window delta.</summary>
    WindowUpdate = 1,
    /// <summary>Session ping; the length field is an opaque value echoed back.</summary>
    Ping = 2,
    /// <summary>Session termination; the length field is a <see cref="YamuxGoAwayCode"/>.</summary>
    GoAway = 3,
}
