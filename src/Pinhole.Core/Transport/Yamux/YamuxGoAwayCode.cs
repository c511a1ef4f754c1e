namespace Pinhole.Transport.Yamux;

/// <summary>Why a yamux session ends (the length field of a GoAway frame).</summary>
internal enum YamuxGoAwayCode : uint
{
    /// <summary>Normal termination.</summary>
    Normal = 0,
    /// <summary>The peer broke the protocol.</summary>
    ProtocolError = 1,
    /// <summary>The sender hit an internal error.</summary>
    InternalError = 2,
}
