using Pinhole.Codecs;

namespace Pinhole.Nat.Relay.Protocol;

/// <summary>
/// <c>Peer</c> of circuit relay v2: who to connect to (hop CONNECT) or who is connecting (stop CONNECT).
/// </summary>
/// <remarks>
/// <code>
/// Peer = 0x0a varint(len) id        (field 1, required: the PeerId's multihash)
///        0x12 varint(len) addr ...  (field 2, repeated: binary multiaddrs; for the deprecated "active relay", ignored)
/// </code>
/// Addresses that do not decode are skipped (counted in <see cref="SkippedAddresses"/>), as identify does.
/// </remarks>
internal sealed record RelayPeer(PeerId Id, IReadOnlyList<Multiaddr> Addresses, int SkippedAddresses = 0)
{
    /// <summary>Most addresses kept from one message.</summary>
    public const int MaxAddresses = 32;

    public static RelayPeer Parse(ReadOnlySpan<byte> data)
    {
        var reader = new ProtobufReader(data);
        PeerId? id = null;
        var addresses = new List<Multiaddr>();
        var skipped = 0;
        while (reader.TryReadField())
        {
            switch (reader.FieldNumber)
            {
                case 1:
                    id = PeerId.FromMultihash(reader.ReadBytes());
                    break;
                case 2:
                    var bytes = reader.ReadBytes();
                    if (addresses.Count < MaxAddresses && Multiaddr.TryFromBytes(bytes, out var address))
                    {
                        addresses.Add(address);
                    }
                    else
                    {
                        skipped++;
                    }
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }
        return id is null ? throw new FormatException("Peer has no id (field 1).") : new RelayPeer(id, addresses, skipped);
    }

    public void WriteTo(ProtobufWriter writer)
    {
        writer.WriteBytes(1, Id.Multihash.Span);
        foreach (var address in Addresses)
        {
            writer.WriteBytes(2, address.Bytes.Span);
        }
    }
}

/// <summary>
/// <c>Reservation</c> of circuit relay v2: when it expires, the relay's public addresses, and the voucher.
/// </summary>
/// <remarks>
/// <code>
/// Reservation = 0x08 varint expire         (field 1: unix seconds, UTC)
///               0x12 varint(len) addr ...  (field 2, repeated: relay addresses with /p2p/relay, without /p2p-circuit)
///               0x1a varint(len) voucher   (field 3: a signed envelope, see ReservationVoucher)
/// </code>
/// </remarks>
internal sealed record ReservationInfo(ulong? Expire, IReadOnlyList<Multiaddr> Addresses, ReadOnlyMemory<byte>? Voucher, int SkippedAddresses = 0)
{
    public static ReservationInfo Parse(ReadOnlySpan<byte> data)
    {
        var reader = new ProtobufReader(data);
        ulong? expire = null;
        ReadOnlyMemory<byte>? voucher = null;
        var addresses = new List<Multiaddr>();
        var skipped = 0;
        while (reader.TryReadField())
        {
            switch (reader.FieldNumber)
            {
                case 1:
                    expire = reader.ReadVarint();
                    break;
                case 2:
                    var bytes = reader.ReadBytes();
                    if (addresses.Count < RelayPeer.MaxAddresses && Multiaddr.TryFromBytes(bytes, out var address))
                    {
                        addresses.Add(address);
                    }
                    else
                    {
                        skipped++;
                    }
                    break;
                case 3:
                    voucher = reader.ReadBytes().ToArray();
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }
        return new ReservationInfo(expire, addresses, voucher, skipped);
    }

    public void WriteTo(ProtobufWriter writer)
    {
        if (Expire is { } expire)
        {
            writer.WriteVarint(1, expire);
        }
        foreach (var address in Addresses)
        {
            writer.WriteBytes(2, address.Bytes.Span);
        }
        if (Voucher is { } voucher)
        {
            writer.WriteBytes(3, voucher.Span);
        }
    }
}

/// <summary>
/// <c>Limit</c> of circuit relay v2, exactly as sent. An absent field (null) and 0 both mean "no limit in this dimension".
/// </summary>
/// <remarks>
/// <code>
/// Limit = 0x08 varint duration   (field 1: uint32 seconds; js-libp2p 3.x sends milliseconds here, e.g. 120000)
///         0x10 varint data       (field 2: uint64 bytes per direction; js counts both directions together)
/// </code>
/// </remarks>
internal sealed record LimitInfo(uint? Duration, ulong? Data)
{
    public static LimitInfo Parse(ReadOnlySpan<byte> data)
    {
        var reader = new ProtobufReader(data);
        uint? duration = null;
        ulong? bytes = null;
        while (reader.TryReadField())
        {
            switch (reader.FieldNumber)
            {
                case 1:
                    var value = reader.ReadVarint();
                    duration = value <= uint.MaxValue ? (uint)value : throw new FormatException($"Limit duration {value} does not fit a uint32.");
                    break;
                case 2:
                    bytes = reader.ReadVarint();
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }
        return new LimitInfo(duration, bytes);
    }

    /// <summary>The limit for <see cref="PeerConnection.Limit"/>: 0 becomes "none"; the duration is read as seconds.</summary>
    public ConnectionLimit ToConnectionLimit() => new(
        Duration is { } seconds and > 0 ? TimeSpan.FromSeconds(seconds) : null,
        Data is > 0 ? Data : null);

    public static LimitInfo? From(ConnectionLimit? limit) => limit is null
        ? null
        : new LimitInfo(
            limit.Duration is { } d ? (uint)Math.Clamp(Math.Ceiling(d.TotalSeconds), 1, uint.MaxValue) : null,
            limit.Data);

    public byte[] Encode()
    {
        var writer = new ProtobufWriter(16);
        WriteTo(writer);
        return writer.ToArray();
    }

    public void WriteTo(ProtobufWriter writer)
    {
        if (Duration is { } duration)
        {
            writer.WriteVarint(1, duration);
        }
        if (Data is { } data)
        {
            writer.WriteVarint(2, data);
        }
    }
}
