using Pinhole.Codecs;

namespace Pinhole.Protocols;

/// <summary>
/// The libp2p identify message (libp2p/specs identify/README.md). Encoded as protobuf:
/// </summary>
/// <remarks>
/// <code>
/// message Identify {                          field  key byte
///   optional bytes  publicKey       = 1;      0x0a   libp2p PublicKey protobuf
///   repeated bytes  listenAddrs     = 2;      0x12   binary multiaddrs
///   repeated string protocols       = 3;      0x1a
///   optional bytes  observedAddr    = 4;      0x22   binary multiaddr
///   optional string protocolVersion = 5;      0x2a
///   optional string agentVersion    = 6;      0x32
///   optional bytes  signedPeerRecord = 8;     0x42   ignored (skipped on read, never written)
/// }
/// </code>
/// Unknown fields are skipped. Addresses we cannot decode (protocols outside our table) are skipped
/// too, and counted in <see cref="UnreadableAddressCount"/>, since peers advertise transports we do
/// not speak.
/// </remarks>
public sealed record IdentifyMessage
{
    /// <summary>Largest encoded message accepted.</summary>
    public const int MaxEncodedLength = 64 * 1024;

    /// <summary>Most listen addresses accepted in one message.</summary>
    public const int MaxListenAddrs = 128;

    /// <summary>Most protocol ids accepted in one message.</summary>
    public const int MaxProtocols = 512;

    /// <summary>Longest protocol id / version string accepted, in bytes.</summary>
    public const int MaxStringLength = 1024;

    /// <summary>Protocol family, e.g. <c>ipfs/0.1.0</c>; null when absent.</summary>
    public string? ProtocolVersion { get; init; }

    /// <summary>Implementation, e.g. <c>pinhole/0.1.0</c>; null when absent.</summary>
    public string? AgentVersion { get; init; }

    /// <summary>The sender's libp2p <c>PublicKey</c> protobuf; empty when absent.</summary>
    public ReadOnlyMemory<byte> PublicKey { get; init; }

    /// <summary>Addresses the sender listens on.</summary>
    public IReadOnlyList<Multiaddr> ListenAddrs { get; init; } = [];

    /// <summary>The address the sender sees this connection coming from; null when absent.</summary>
    public Multiaddr? ObservedAddr { get; init; }

    /// <summary>Protocols the sender accepts streams for.</summary>
    public IReadOnlyList<string> Protocols { get; init; } = [];

    /// <summary>Addresses in the received message that could not be decoded and were left out.</summary>
    public int UnreadableAddressCount { get; init; }

    /// <summary>Encodes the message as protobuf (without the length prefix).</summary>
    public byte[] Encode()
    {
        var writer = new ProtobufWriter();
        if (!PublicKey.IsEmpty)
        {
            writer.WriteBytes(1, PublicKey.Span);
        }
        foreach (var addr in ListenAddrs)
        {
            writer.WriteBytes(2, addr.Bytes.Span);
        }
        foreach (var protocol in Protocols)
        {
            writer.WriteString(3, protocol);
        }
        if (ObservedAddr is not null)
        {
            writer.WriteBytes(4, ObservedAddr.Bytes.Span);
        }
        if (ProtocolVersion is not null)
        {
            writer.WriteString(5, ProtocolVersion);
        }
        if (AgentVersion is not null)
        {
            writer.WriteString(6, AgentVersion);
        }
        if (writer.WrittenSpan.Length > MaxEncodedLength)
        {
            throw new InvalidOperationException($"The identify message is {writer.WrittenSpan.Length} bytes long; peers accept at most {MaxEncodedLength}.");
        }
        return writer.ToArray();
    }

    /// <summary>Decodes a protobuf identify message; throws <see cref="FormatException"/> saying what is wrong.</summary>
    public static IdentifyMessage Decode(ReadOnlySpan<byte> data) => Merge(new IdentifyMessage(), data);

    /// <summary>
    /// Decodes <paramref name="data"/> on top of <paramref name="previous"/> with protobuf merge rules
    /// (later scalars win, repeated fields append): go-libp2p splits large identify messages in parts.
    /// </summary>
    internal static IdentifyMessage Merge(IdentifyMessage previous, ReadOnlySpan<byte> data)
    {
        if (data.Length > MaxEncodedLength)
        {
            throw new FormatException($"Identify message is {data.Length} bytes long; at most {MaxEncodedLength} are accepted.");
        }
        var listenAddrs = new List<Multiaddr>(previous.ListenAddrs);
        var protocols = new List<string>(previous.Protocols);
        var publicKey = previous.PublicKey;
        var observed = previous.ObservedAddr;
        var protocolVersion = previous.ProtocolVersion;
        var agentVersion = previous.AgentVersion;
        var unreadable = previous.UnreadableAddressCount;
        var reader = new ProtobufReader(data);
        while (reader.TryReadField())
        {
            switch (reader.FieldNumber)
            {
                case 1:
                    publicKey = reader.ReadBytes().ToArray();
                    break;
                case 2:
                    if (listenAddrs.Count + unreadable >= MaxListenAddrs)
                    {
                        throw new FormatException($"Identify message lists more than {MaxListenAddrs} listen addresses.");
                    }
                    if (Multiaddr.TryFromBytes(reader.ReadBytes(), out var addr))
                    {
                        listenAddrs.Add(addr);
                    }
                    else
                    {
                        unreadable++;
                    }
                    break;
                case 3:
                    if (protocols.Count >= MaxProtocols)
                    {
                        throw new FormatException($"Identify message lists more than {MaxProtocols} protocols.");
                    }
                    protocols.Add(ReadLimitedString(ref reader, "protocol id"));
                    break;
                case 4:
                    if (Multiaddr.TryFromBytes(reader.ReadBytes(), out var observedAddr))
                    {
                        observed = observedAddr;
                    }
                    else
                    {
                        unreadable++;
                    }
                    break;
                case 5:
                    protocolVersion = ReadLimitedString(ref reader, "protocolVersion");
                    break;
                case 6:
                    agentVersion = ReadLimitedString(ref reader, "agentVersion");
                    break;
                default:
                    reader.Skip(); // signedPeerRecord (8) and anything newer
                    break;
            }
        }
        return new IdentifyMessage
        {
            PublicKey = publicKey,
            ListenAddrs = listenAddrs,
            Protocols = protocols,
            ObservedAddr = observed,
            ProtocolVersion = protocolVersion,
            AgentVersion = agentVersion,
            UnreadableAddressCount = unreadable,
        };
    }

    private static string ReadLimitedString(ref ProtobufReader reader, string what)
    {
        var value = reader.ReadString();
        if (value.Length > MaxStringLength)
        {
            throw new FormatException($"Identify {what} is longer than {MaxStringLength} characters.");
        }
        return value;
    }
}
