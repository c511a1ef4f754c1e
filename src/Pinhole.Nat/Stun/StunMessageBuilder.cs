using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Pinhole.Nat;

/// <summary>
/// Writes one STUN message: header, attributes in the order added (padded to 4 bytes with zeros), then
/// optionally MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256 and FINGERPRINT, which must be added last, in that
/// order. <see cref="ToArray"/> returns the finished message.
/// </summary>
public sealed class StunMessageBuilder
{
    private byte[] _buffer = new byte[128];
    private int _length;
    private bool _sealed;
    private bool _fingerprinted;

    /// <summary>Starts a message of <paramref name="method"/> and <paramref name="stunClass"/>.</summary>
    public StunMessageBuilder(StunMethod method, StunClass stunClass, StunTransactionId transactionId)
    {
        Method = method;
        Class = stunClass;
        TransactionId = transactionId;
        BinaryPrimitives.WriteUInt16BigEndian(_buffer, StunMessageType.Encode((ushort)method, stunClass));
        BinaryPrimitives.WriteUInt32BigEndian(_buffer.AsSpan(4), StunMessage.MagicCookie);
        transactionId.Write(_buffer.AsSpan(8));
        _length = StunMessage.HeaderLength;
    }

    /// <summary>A request with a fresh random transaction ID.</summary>
    public static StunMessageBuilder Request(StunMethod method) => new(method, StunClass.Request, StunTransactionId.NewRandom());

    /// <summary>The method.</summary>
    public StunMethod Method { get; }

    /// <summary>The class.</summary>
    public StunClass Class { get; }

    /// <summary>The transaction ID.</summary>
    public StunTransactionId TransactionId { get; }

    /// <summary>Tests only: the padding byte (zero by default; RFC 5769's vectors pad with spaces).</summary>
    internal byte PaddingByte { get; set; }

    /// <summary>Bytes written so far.</summary>
    public int Length => _length;

    /// <summary>Adds an attribute with a raw value.</summary>
    public StunMessageBuilder Add(ushort type, ReadOnlySpan<byte> value)
    {
        if (_sealed && type is not (StunAttributeType.MessageIntegritySha256 or StunAttributeType.Fingerprint))
        {
            throw new InvalidOperationException("Attributes after MESSAGE-INTEGRITY are ignored by receivers; add them before it.");
        }
        if (_fingerprinted)
        {
            throw new InvalidOperationException("FINGERPRINT must be the last attribute.");
        }
        if (value.Length > ushort.MaxValue)
        {
            throw new ArgumentException("An attribute value is at most 65535 bytes.", nameof(value));
        }
        int padded = (value.Length + 3) & ~3;
        if (_length + 4 + padded > StunMessage.MaxLength)
        {
            throw new InvalidOperationException($"The message would exceed {StunMessage.MaxLength} bytes.");
        }
        Ensure(4 + padded);
        Span<byte> span = _buffer.AsSpan(_length);
        BinaryPrimitives.WriteUInt16BigEndian(span, type);
        BinaryPrimitives.WriteUInt16BigEndian(span[2..], (ushort)value.Length);
        value.CopyTo(span[4..]);
        span.Slice(4 + value.Length, padded - value.Length).Fill(PaddingByte);
        _length += 4 + padded;
        BinaryPrimitives.WriteUInt16BigEndian(_buffer.AsSpan(2), (ushort)(_length - StunMessage.HeaderLength));
        return this;
    }

    /// <summary>Adds a UTF-8 text attribute (USERNAME, REALM, NONCE, SOFTWARE).</summary>
    public StunMessageBuilder AddText(ushort type, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return Add(type, Encoding.UTF8.GetBytes(value));
    }

    /// <summary>Adds a 32-bit big-endian attribute (LIFETIME, PRIORITY, ...).</summary>
    public StunMessageBuilder AddUInt32(ushort type, uint value)
    {
        Span<byte> v = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(v, value);
        return Add(type, v);
    }

    /// <summary>Adds a 64-bit big-endian attribute (ICE-CONTROLLING, ICE-CONTROLLED).</summary>
    public StunMessageBuilder AddUInt64(ushort type, ulong value)
    {
        Span<byte> v = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(v, value);
        return Add(type, v);
    }

    /// <summary>Adds an address attribute in plain form (MAPPED-ADDRESS, RESPONSE-ORIGIN, OTHER-ADDRESS).</summary>
    public StunMessageBuilder AddAddress(ushort type, IPEndPoint endPoint) => AddAddressCore(type, endPoint, xor: false);

    /// <summary>Adds an address attribute in XOR form (XOR-MAPPED-ADDRESS, XOR-PEER-ADDRESS, XOR-RELAYED-ADDRESS).</summary>
    public StunMessageBuilder AddXorAddress(ushort type, IPEndPoint endPoint) => AddAddressCore(type, endPoint, xor: true);

    /// <summary>Adds ERROR-CODE.</summary>
    public StunMessageBuilder AddErrorCode(int code, string reason)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(code, 300);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(code, 699);
        byte[] text = Encoding.UTF8.GetBytes(reason ?? "");
        Span<byte> v = stackalloc byte[4 + Math.Min(text.Length, 763)];
        v[2] = (byte)(code / 100);
        v[3] = (byte)(code % 100);
        text.AsSpan(0, v.Length - 4).CopyTo(v[4..]);
        return Add(StunAttributeType.ErrorCode, v);
    }

    /// <summary>Adds UNKNOWN-ATTRIBUTES.</summary>
    public StunMessageBuilder AddUnknownAttributes(IReadOnlyList<ushort> types)
    {
        ArgumentNullException.ThrowIfNull(types);
        Span<byte> v = stackalloc byte[2 * Math.Min(types.Count, 32)];
        for (int i = 0; i < v.Length / 2; i++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(v[(2 * i)..], types[i]);
        }
        return Add(StunAttributeType.UnknownAttributes, v);
    }

    /// <summary>Adds CHANGE-REQUEST (RFC 5780 §7.2).</summary>
    public StunMessageBuilder AddChangeRequest(bool changeIp, bool changePort) =>
        AddUInt32(StunAttributeType.ChangeRequest, (changeIp ? 0x04u : 0) | (changePort ? 0x02u : 0));

    /// <summary>Adds MESSAGE-INTEGRITY (HMAC-SHA1) over everything so far.</summary>
    public StunMessageBuilder AddMessageIntegrity(ReadOnlySpan<byte> key)
    {
        if (_sealed)
        {
            throw new InvalidOperationException("MESSAGE-INTEGRITY must come before MESSAGE-INTEGRITY-SHA256.");
        }
        Span<byte> mac = stackalloc byte[20];
        StunMessage.ComputeHmac(_buffer.AsSpan(0, _length), key, sha256: false, mac);
        Add(StunAttributeType.MessageIntegrity, mac);
        _sealed = true;
        return this;
    }

    /// <summary>Adds MESSAGE-INTEGRITY-SHA256 (HMAC-SHA256, 32 bytes) over everything so far.</summary>
    public StunMessageBuilder AddMessageIntegritySha256(ReadOnlySpan<byte> key)
    {
        Span<byte> mac = stackalloc byte[32];
        StunMessage.ComputeHmac(_buffer.AsSpan(0, _length), key, sha256: true, mac);
        _sealed = false;
        Add(StunAttributeType.MessageIntegritySha256, mac);
        _sealed = true;
        return this;
    }

    /// <summary>Adds FINGERPRINT; nothing may follow it.</summary>
    public StunMessageBuilder AddFingerprint()
    {
        uint crc = StunMessage.ComputeFingerprint(_buffer.AsSpan(0, _length));
        bool wasSealed = _sealed;
        _sealed = false;
        AddUInt32(StunAttributeType.Fingerprint, crc);
        _sealed = wasSealed;
        _fingerprinted = true;
        return this;
    }

    /// <summary>The finished message.</summary>
    public byte[] ToArray() => _buffer.AsSpan(0, _length).ToArray();

    /// <summary>The finished message as a span over the builder's buffer (valid until the next change).</summary>
    public ReadOnlySpan<byte> AsSpan() => _buffer.AsSpan(0, _length);

    private StunMessageBuilder AddAddressCore(ushort type, IPEndPoint endPoint, bool xor)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        IPAddress address = endPoint.Address.IsIPv4MappedToIPv6 ? endPoint.Address.MapToIPv4() : endPoint.Address;
        bool v4 = address.AddressFamily == AddressFamily.InterNetwork;
        Span<byte> v = stackalloc byte[v4 ? 8 : 20];
        v[1] = (byte)(v4 ? 1 : 2);
        int port = endPoint.Port;
        address.TryWriteBytes(v[4..], out _);
        if (xor)
        {
            port ^= (int)(StunMessage.MagicCookie >> 16);
            ReadOnlySpan<byte> pad = _buffer.AsSpan(4, 16);
            for (int i = 4; i < v.Length; i++)
            {
                v[i] ^= pad[i - 4];
            }
        }
        BinaryPrimitives.WriteUInt16BigEndian(v[2..], (ushort)port);
        return Add(type, v);
    }

    private void Ensure(int more)
    {
        if (_length + more > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + more));
        }
    }
}
