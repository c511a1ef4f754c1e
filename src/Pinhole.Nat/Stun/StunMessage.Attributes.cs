using System.Buffers.Binary;
using System.Net;
using System.Text;

namespace Pinhole.Nat;

public sealed partial class StunMessage
{
    // Address attributes (RFC 8489 §14.1, §14.2):
    //  0                   1                   2                   3
    // +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    // |0 0 0 0 0 0 0 0|    Family     |         Port (X-Port)         |
    // +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    // |                 Address (32 bits or 128 bits)                 |
    // +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    // XOR forms: X-Port = port ^ 0x2112; IPv4 ^ cookie; IPv6 ^ (cookie ‖ transaction ID).

    /// <summary>XOR-MAPPED-ADDRESS: the source address the server saw.</summary>
    public IPEndPoint? XorMappedAddress => Address(StunAttributeType.XorMappedAddress, xor: true);

    /// <summary>MAPPED-ADDRESS (servers that predate RFC 5389 send only this).</summary>
    public IPEndPoint? MappedAddress => Address(StunAttributeType.MappedAddress, xor: false);

    /// <summary>The reflexive address: XOR-MAPPED-ADDRESS, else MAPPED-ADDRESS.</summary>
    public IPEndPoint? ReflexiveAddress => XorMappedAddress ?? MappedAddress;

    /// <summary>XOR-RELAYED-ADDRESS (TURN Allocate success).</summary>
    public IPEndPoint? XorRelayedAddress => Address(StunAttributeType.XorRelayedAddress, xor: true);

    /// <summary>The first XOR-PEER-ADDRESS (TURN).</summary>
    public IPEndPoint? XorPeerAddress => Address(StunAttributeType.XorPeerAddress, xor: true);

    /// <summary>RESPONSE-ORIGIN (RFC 5780): where the server sent the response from.</summary>
    public IPEndPoint? ResponseOrigin => Address(StunAttributeType.ResponseOrigin, xor: false);

    /// <summary>OTHER-ADDRESS (RFC 5780): the server's alternate IP and port.</summary>
    public IPEndPoint? OtherAddress => Address(StunAttributeType.OtherAddress, xor: false);

    /// <summary>ALTERNATE-SERVER (300 Try Alternate).</summary>
    public IPEndPoint? AlternateServer => Address(StunAttributeType.AlternateServer, xor: false);

    /// <summary>ERROR-CODE, if present.</summary>
    public StunErrorCode? ErrorCode
    {
        get
        {
            if (!TryGetAttribute(StunAttributeType.ErrorCode, out StunAttribute a))
            {
                return null;
            }
            ReadOnlySpan<byte> v = a.Value.Span;
            return new StunErrorCode((v[2] & 0x07) * 100 + v[3], Encoding.UTF8.GetString(v[4..]));
        }
    }

    /// <summary>UNKNOWN-ATTRIBUTES, if present.</summary>
    public IReadOnlyList<ushort>? UnknownAttributes
    {
        get
        {
            if (!TryGetAttribute(StunAttributeType.UnknownAttributes, out StunAttribute a))
            {
                return null;
            }
            ReadOnlySpan<byte> v = a.Value.Span;
            var types = new ushort[v.Length / 2];
            for (int i = 0; i < types.Length; i++)
            {
                types[i] = BinaryPrimitives.ReadUInt16BigEndian(v[(2 * i)..]);
            }
            return types;
        }
    }

    /// <summary>CHANGE-REQUEST flags (RFC 5780 §7.2), if present.</summary>
    public (bool ChangeIp, bool ChangePort)? ChangeRequest
    {
        get
        {
            if (!TryGetAttribute(StunAttributeType.ChangeRequest, out StunAttribute a))
            {
                return null;
            }
            byte flags = a.Value.Span[3];
            return ((flags & 0x04) != 0, (flags & 0x02) != 0);
        }
    }

    /// <summary>SOFTWARE, if present.</summary>
    public string? Software => Text(StunAttributeType.Software);

    /// <summary>USERNAME, if present.</summary>
    public string? Username => Text(StunAttributeType.Username);

    /// <summary>REALM, if present.</summary>
    public string? Realm => Text(StunAttributeType.Realm);

    /// <summary>NONCE, if present.</summary>
    public string? Nonce => Text(StunAttributeType.Nonce);

    /// <summary>LIFETIME (TURN), if present.</summary>
    public TimeSpan? Lifetime => UInt32(StunAttributeType.Lifetime) is uint s ? TimeSpan.FromSeconds(s) : null;

    /// <summary>PRIORITY (ICE), if present.</summary>
    public uint? Priority => UInt32(StunAttributeType.Priority);

    /// <summary>CHANNEL-NUMBER (TURN), if present.</summary>
    public ushort? ChannelNumber => UInt32(StunAttributeType.ChannelNumber) is uint v ? (ushort)(v >> 16) : null;

    /// <summary>REQUESTED-TRANSPORT protocol number (TURN; 17 = UDP), if present.</summary>
    public byte? RequestedTransport => UInt32(StunAttributeType.RequestedTransport) is uint v ? (byte)(v >> 24) : null;

    /// <summary>DATA (TURN), if present.</summary>
    public ReadOnlyMemory<byte>? Data => TryGetAttribute(StunAttributeType.Data, out StunAttribute a) ? a.Value : null;

    /// <summary>ICE-CONTROLLING tie-breaker, if present.</summary>
    public ulong? IceControlling => UInt64(StunAttributeType.IceControlling);

    /// <summary>ICE-CONTROLLED tie-breaker, if present.</summary>
    public ulong? IceControlled => UInt64(StunAttributeType.IceControlled);

    /// <summary>Every XOR-PEER-ADDRESS (CreatePermission may carry several).</summary>
    public IReadOnlyList<IPEndPoint> XorPeerAddresses
    {
        get
        {
            var list = new List<IPEndPoint>();
            foreach (StunAttribute a in _attributes)
            {
                if (a.Type == StunAttributeType.XorPeerAddress)
                {
                    list.Add(DecodeAddress(a.Value.Span, xor: true));
                }
            }
            return list;
        }
    }

    private IPEndPoint? Address(ushort type, bool xor) =>
        TryGetAttribute(type, out StunAttribute a) ? DecodeAddress(a.Value.Span, xor) : null;

    private IPEndPoint DecodeAddress(ReadOnlySpan<byte> v, bool xor)
    {
        int port = BinaryPrimitives.ReadUInt16BigEndian(v[2..]);
        Span<byte> address = stackalloc byte[v[1] == 1 ? 4 : 16];
        v[4..].CopyTo(address);
        if (xor)
        {
            port ^= (int)(MagicCookie >> 16);
            // The XOR pad is the cookie and then the transaction ID: bytes 4..20 of the header.
            ReadOnlySpan<byte> pad = _raw.AsSpan(4, 16);
            for (int i = 0; i < address.Length; i++)
            {
                address[i] ^= pad[i];
            }
        }
        return new IPEndPoint(new IPAddress(address), port);
    }

    private string? Text(ushort type) => TryGetAttribute(type, out StunAttribute a) ? Encoding.UTF8.GetString(a.Value.Span) : null;

    private uint? UInt32(ushort type) => TryGetAttribute(type, out StunAttribute a) ? BinaryPrimitives.ReadUInt32BigEndian(a.Value.Span) : null;

    private ulong? UInt64(ushort type) => TryGetAttribute(type, out StunAttribute a) ? BinaryPrimitives.ReadUInt64BigEndian(a.Value.Span) : null;
}
