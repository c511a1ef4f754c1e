using Pinhole.Codecs;

namespace Pinhole.Nat.Relay.Protocol;

/// <summary>Type of a <see cref="HopMessage"/>.</summary>
internal enum HopMessageType
{
    Reserve = 0,
    Connect = 1,
    Status = 2,
}

/// <summary>
/// A message of the hop protocol (<c>/libp2p/circuit/relay/0.2.0/hop</c>), between a client and the relay.
/// Parsing is pure (<see cref="Parse"/> over a span, a fuzz target); framing is <see cref="DelimitedMessage"/>.
/// </summary>
/// <remarks>
/// <code>
/// HopMessage = 0x08 varint type                (field 1, required: RESERVE 0 | CONNECT 1 | STATUS 2)
///              0x12 varint(len) Peer           (field 2: CONNECT's target)
///              0x1a varint(len) Reservation    (field 3: STATUS OK to RESERVE)
///              0x22 varint(len) Limit          (field 4: STATUS OK; absent = unlimited)
///              0x28 varint status              (field 5: STATUS, see RelayStatus)
/// e.g. RESERVE = 02 08 00 (length 2, type 0); CONNECT to P = len 08 01 12 len(0a len multihash(P))
/// </code>
/// Unknown fields are skipped; an unknown type is kept (the handler answers UNEXPECTED_MESSAGE).
/// </remarks>
internal sealed record HopMessage(HopMessageType Type, RelayPeer? Peer = null, ReservationInfo? Reservation = null, LimitInfo? Limit = null, RelayStatus? Status = null)
{
    public const string ProtocolId = "/libp2p/circuit/relay/0.2.0/hop";

    /// <summary>Parses one message body; throws <see cref="FormatException"/> saying what is wrong.</summary>
    public static HopMessage Parse(ReadOnlySpan<byte> data)
    {
        var reader = new ProtobufReader(data);
        HopMessageType? type = null;
        RelayPeer? peer = null;
        ReservationInfo? reservation = null;
        LimitInfo? limit = null;
        RelayStatus? status = null;
        while (reader.TryReadField())
        {
            switch (reader.FieldNumber)
            {
                case 1:
                    type = (HopMessageType)ReadEnum(ref reader, "type");
                    break;
                case 2:
                    peer = RelayPeer.Parse(reader.ReadBytes());
                    break;
                case 3:
                    reservation = ReservationInfo.Parse(reader.ReadBytes());
                    break;
                case 4:
                    limit = LimitInfo.Parse(reader.ReadBytes());
                    break;
                case 5:
                    status = (RelayStatus)ReadEnum(ref reader, "status");
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }
        return type is null
            ? throw new FormatException("HopMessage has no type (field 1).")
            : new HopMessage(type.Value, peer, reservation, limit, status);
    }

    /// <summary>The protobuf body (type always written: it is required).</summary>
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
        if (Reservation is not null)
        {
            var inner = new ProtobufWriter(256);
            Reservation.WriteTo(inner);
            writer.WriteBytes(3, inner.WrittenSpan);
        }
        if (Limit is not null)
        {
            var inner = new ProtobufWriter(16);
            Limit.WriteTo(inner);
            writer.WriteBytes(4, inner.WrittenSpan);
        }
        if (Status is { } status)
        {
            writer.WriteVarint(5, (ulong)status);
        }
        return writer.ToArray();
    }

    /// <summary>Reads a protobuf enum; values that do not fit an int32 are malformed.</summary>
    internal static int ReadEnum(ref ProtobufReader reader, string name)
    {
        var value = reader.ReadVarint();
        return value <= int.MaxValue ? (int)value : throw new FormatException($"Enum field {name} has value {value}, beyond int32.");
    }
}
