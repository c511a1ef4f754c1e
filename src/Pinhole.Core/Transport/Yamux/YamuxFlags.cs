namespace Pinhole.Transport.Yamux;

/// <summary>The yamux header flags.</summary>
[Flags]
internal enum YamuxFlags : ushort
{
    /// <summary>No flag.</summary>
    None = 0,
    /// <summary>Opens a stream; on a ping, marks the request.</summary>
    Syn = 1,
    /// <summary>Accepts a stream; on a ping, marks the response.</summary>
    Ack = 2,
    /// <summary>Half-closes the sender's side of a stream.</summary>
    Fin = 4,
    /// <summary>Resets a stream in both directions.</summary>
    Rst = 8,
}
