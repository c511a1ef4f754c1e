namespace Pinhole.Nat;

/// <summary>What a UDP datagram is, by its first byte (RFC 7983 §7).</summary>
public enum DatagramKind
{
    /// <summary>Anything else (RTP, ZRTP, QUIC, garbage): dropped by <see cref="UdpMux"/>.</summary>
    Unknown = 0,
    /// <summary>0-3: STUN (and TURN control messages, and Pinhole's connectivity checks, which are STUN).</summary>
    Stun,
    /// <summary>20-63: DTLS records.</summary>
    Dtls,
    /// <summary>64-79: TURN ChannelData (RFC 8656 §12.4).</summary>
    ChannelData,
}

/// <summary>RFC 7983's first-byte demultiplexing rule.</summary>
public static class DatagramClassifier
{
    /// <summary>The kind of <paramref name="datagram"/> by its first byte; empty datagrams are <see cref="DatagramKind.Unknown"/>.</summary>
    public static DatagramKind Classify(ReadOnlySpan<byte> datagram) => datagram.IsEmpty ? DatagramKind.Unknown : datagram[0] switch
    {
        <= 3 => DatagramKind.Stun,
        >= 20 and <= 63 => DatagramKind.Dtls,
        >= 64 and <= 79 => DatagramKind.ChannelData,
        _ => DatagramKind.Unknown,
    };
}
