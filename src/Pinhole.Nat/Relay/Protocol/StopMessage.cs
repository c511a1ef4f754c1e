using Pinhole.Codecs;

namespace Pinhole.Nat.Relay.Protocol;

/// <summary>Type of a <see cref="StopMessage"/>.</summary>
internal enum StopMessageType
{
    Connect = 0,
    Status = 1,
}

/// <summary>
/// A message of the stop protocol (<c>/libp2p/circuit/relay/0.2.0/stop</c>), between the relay and the peer a circuit ends at.
/// </summary>
/// <remarks>
/// <code>
/// StopMessage = 0x08 varint type               (field 1, required: CONNECT 0 | STATUS 1)
///               0x12 varint(len) Peer          (field 2: CONNECT's initiator)
///               0x1a varint(len) Limit         (field 3: CONNECT; absent = unlimited)
///               0x20 varint status             (field 4: STATUS)
/// e.g. STATUS OK = 04 08 01 20 64
/// </code>
/// </remarks>
internal sealed record StopMessage(StopMessageType Type, RelayPeer? Peer = null, LimitInfo? Limit = null, RelayStatus? Status = null)
{
    public const string ProtocolId = "/libp2p/circuit/relay/0.2.0/stop";

    /// <summary>Parses one message body; throws <see cref="FormatException"/> saying what is wrong.</summary>
    public static StopMessage Parse(ReadOnlySpan<byte> data)
    {
        var reader = new ProtobufReader(data);
        StopMessageType? type = null;
        RelayPeer? peer = null;
        LimitInfo? limit = null;
        RelayStatus? status = null;
        while (reader.TryReadField())
        {
            switch (reader.FieldNumber)
            {
                case 1:
                    type = (StopMessageType)HopMessage.ReadEnum(ref reader, "type");
                    break;
                case 2:
                    peer = RelayPeer.Parse(reader.ReadBytes());
                    break;
                case 3:
                    limit = LimitInfo.Parse(reader.ReadBytes());
                    break;
                case 4:
                    status = (RelayStatus)HopMessage.ReadEnum(ref reader, "status");
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }
        return type is null
            ? throw new FormatException("StopMessage has no type (field 1).")
            : new StopMessage(type.Value, peer, limit, status);
    }

    /// <summary>The protobuf body.</summary>
    public byte[] Encode()
    {
        var writer = new ProtobufWriter(64);
        writer.WriteVarint(1, (ulong)Type);
        if (Peer is not null)
        {
            var inner = new ProtobufWriter(64);
            Peer.WriteTo(inner);
            writer.WriteBytes(2, inner.WrittenSpan);
        }
        if (Limit is not null)
        {
            var inner = new ProtobufWriter(16);
            Limit.WriteTo(inner);
            writer.WriteBytes(3, inner.WrittenSpan);
        }
        if (Status is { } status)
        {
            writer.WriteVarint(4, (ulong)status);
        }
        return writer.ToArray();
    }
}
