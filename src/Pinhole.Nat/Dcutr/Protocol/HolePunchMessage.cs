using Pinhole.Codecs;

namespace Pinhole.Nat.Dcutr.Protocol;

/// <summary>Type of a <see cref="HolePunchMessage"/>.</summary>
internal enum HolePunchType
{
    Connect = 100,
    Sync = 300,
}

/// <summary>
/// The one message of DCUtR (<c>/libp2p/dcutr</c>, libp2p/specs relay/DCUtR.md), framed like relay messages
/// (uvarint length, at most 4 KiB). Parsing is pure (<see cref="Parse"/>, a fuzz target).
/// </summary>
/// <remarks>
/// <code>
/// HolePunch = 0x08 varint type               (field 1: CONNECT 100 | SYNC 300; optional in proto2, required here)
///             0x12 varint(len) ObsAddr ...   (field 2, repeated: binary multiaddrs the sender may be reached at)
/// e.g. SYNC = 03 08 ac 02; CONNECT with one address = len 08 64 12 len addr
/// </code>
/// Undecodable addresses are skipped and counted (an unknown transport in a peer's list is not an error).
/// </remarks>
internal sealed record HolePunchMessage(HolePunchType Type, IReadOnlyList<Multiaddr> Addresses, int SkippedAddresses = 0)
{
    /// <summary>Most addresses kept from one message.</summary>
    public const int MaxAddresses = 32;

    public static HolePunchMessage Parse(ReadOnlySpan<byte> data)
    {
        var reader = new ProtobufReader(data);
        HolePunchType? type = null;
        var addresses = new List<Multiaddr>();
        var skipped = 0;
        while (reader.TryReadField())
        {
            switch (reader.FieldNumber)
            {
                case 1:
                    var value = reader.ReadVarint();
                    type = value switch
                    {
                        100 => HolePunchType.Connect,
                        300 => HolePunchType.Sync,
                        _ => throw new FormatException($"HolePunch type {value} is neither CONNECT (100) nor SYNC (300)."),
                    };
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
        return type is null
            ? throw new FormatException("HolePunch message has no type (field 1).")
            : new HolePunchMessage(type.Value, addresses, skipped);
    }

    public byte[] Encode()
    {
        var writer = new ProtobufWriter(64);
        writer.WriteVarint(1, (ulong)Type);
        foreach (var address in Addresses)
        {
            writer.WriteBytes(2, address.Bytes.Span);
        }
        return writer.ToArray();
    }
}
