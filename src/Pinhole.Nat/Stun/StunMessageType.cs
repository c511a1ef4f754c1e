namespace Pinhole.Nat;

/// <summary>STUN and TURN methods (RFC 8489 §18.2, RFC 8656 §17).</summary>
public enum StunMethod : ushort
{
    /// <summary>Binding (STUN): ask for the reflexive address; also a keepalive and a connectivity check.</summary>
    Binding = 0x001,
    /// <summary>Allocate (TURN): reserve a relayed transport address.</summary>
    Allocate = 0x003,
    /// <summary>Refresh (TURN): extend or delete an allocation.</summary>
    Refresh = 0x004,
    /// <summary>Send (TURN, indication only): client to server, data for a peer.</summary>
    Send = 0x006,
    /// <summary>Data (TURN, indication only): server to client, data from a peer.</summary>
    Data = 0x007,
    /// <summary>CreatePermission (TURN): let a peer's IP address send to the allocation.</summary>
    CreatePermission = 0x008,
    /// <summary>ChannelBind (TURN): bind a channel number to a peer for ChannelData framing.</summary>
    ChannelBind = 0x009,
}

/// <summary>The class of a STUN message (the C1/C0 bits of the type).</summary>
public enum StunClass : byte
{
    /// <summary>A request, answered by a success or error response with the same transaction ID.</summary>
    Request = 0b00,
    /// <summary>An indication: never answered.</summary>
    Indication = 0b01,
    /// <summary>A success response.</summary>
    SuccessResponse = 0b10,
    /// <summary>An error response (carries ERROR-CODE).</summary>
    ErrorResponse = 0b11,
}

/// <summary>Encoding of the 14-bit message type from a method and a class.</summary>
internal static class StunMessageType
{
    //  0                 1
    //  2  3  4 5 6 7 8 9 0 1 2 3 4 5
    // +--+--+-+-+-+-+-+-+-+-+-+-+-+-+
    // |M |M |M|M|M|C|M|M|M|C|M|M|M|M|
    // |11|10|9|8|7|1|6|5|4|0|3|2|1|0|
    // +--+--+-+-+-+-+-+-+-+-+-+-+-+-+
    internal static ushort Encode(ushort method, StunClass stunClass)
    {
        int c = (int)stunClass;
        return (ushort)((method & 0x000F) | ((method & 0x0070) << 1) | ((method & 0x0F80) << 2) | ((c & 1) << 4) | ((c & 2) << 7));
    }

    internal static ushort Method(ushort type) => (ushort)((type & 0x000F) | ((type & 0x00E0) >> 1) | ((type & 0x3E00) >> 2));

    internal static StunClass Class(ushort type) => (StunClass)(((type >> 4) & 1) | ((type >> 7) & 2));
}
