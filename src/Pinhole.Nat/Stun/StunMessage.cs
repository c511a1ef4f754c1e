using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using Pinhole.Nat.Internal;

namespace Pinhole.Nat;

/// <summary>
/// A parsed STUN message (RFC 8489), immutable. <see cref="Parse"/> checks the header, every attribute's
/// framing and the value of every attribute this stack knows, so the typed properties never throw.
/// Integrity (<see cref="VerifyMessageIntegrity"/>) and FINGERPRINT (<see cref="HasValidFingerprint"/>) are
/// checked on demand, against the message's own copy of the datagram.
/// </summary>
public sealed partial class StunMessage
{
    /// <summary>The magic cookie, fixed in RFC 5389 and later.</summary>
    public const uint MagicCookie = 0x2112A442;

    /// <summary>Header length.</summary>
    public const int HeaderLength = 20;

    /// <summary>Most attributes a message may have before it is rejected (bounds the work per datagram).</summary>
    public const int MaxAttributes = 64;

    /// <summary>Largest message accepted (the largest UDP payload over IPv4).</summary>
    public const int MaxLength = 65507;

    private const uint FingerprintXor = 0x5354554E;

    private readonly byte[] _raw;
    private readonly StunAttribute[] _attributes;
    private readonly int _integrityIndex;
    private readonly int _integritySha256Index;
    private readonly int _fingerprintIndex;

    private StunMessage(byte[] raw, StunMethod method, StunClass stunClass, StunTransactionId transactionId, StunAttribute[] attributes,
        int integrityIndex, int integritySha256Index, int fingerprintIndex)
    {
        _raw = raw;
        Method = method;
        Class = stunClass;
        TransactionId = transactionId;
        _attributes = attributes;
        _integrityIndex = integrityIndex;
        _integritySha256Index = integritySha256Index;
        _fingerprintIndex = fingerprintIndex;
    }

    /// <summary>The method (12 bits; may be one this enum does not name).</summary>
    public StunMethod Method { get; }

    /// <summary>Request, indication, success or error response.</summary>
    public StunClass Class { get; }

    /// <summary>The transaction ID.</summary>
    public StunTransactionId TransactionId { get; }

    /// <summary>Every attribute in wire order, including ones after MESSAGE-INTEGRITY (which integrity does not cover).</summary>
    public IReadOnlyList<StunAttribute> Attributes => _attributes;

    /// <summary>The message as received.</summary>
    public ReadOnlyMemory<byte> Raw => _raw;

    /// <summary>True when the message carries MESSAGE-INTEGRITY or MESSAGE-INTEGRITY-SHA256.</summary>
    public bool HasMessageIntegrity => _integrityIndex >= 0 || _integritySha256Index >= 0;

    /// <summary>True when the message ends with a FINGERPRINT attribute.</summary>
    public bool HasFingerprint => _fingerprintIndex >= 0;

    /// <summary>
    /// Quick test of the first bytes of a datagram (RFC 7983 first byte 0-3, the magic cookie, a length that
    /// matches): the demultiplexer's check before a full parse.
    /// </summary>
    public static bool LooksLikeStun(ReadOnlySpan<byte> datagram) =>
        datagram.Length >= HeaderLength
        && (datagram[0] & 0xC0) == 0
        && BinaryPrimitives.ReadUInt32BigEndian(datagram[4..]) == MagicCookie
        && BinaryPrimitives.ReadUInt16BigEndian(datagram[2..]) + HeaderLength == datagram.Length;

    /// <summary>Parses one STUN message that fills <paramref name="datagram"/> exactly.</summary>
    /// <exception cref="PeerException"><see cref="PeerError.ProtocolViolation"/>, the message says what is wrong.</exception>
    public static StunMessage Parse(ReadOnlySpan<byte> datagram) =>
        TryParse(datagram, out StunMessage? message, out string? error) ? message : throw NatErrors.Malformed("STUN", error);

    /// <summary>Parses like <see cref="Parse"/>, reporting a problem in <paramref name="error"/> instead of throwing.</summary>
    public static bool TryParse(ReadOnlySpan<byte> datagram, [NotNullWhen(true)] out StunMessage? message, [NotNullWhen(false)] out string? error)
    {
        message = null;
        error = ParseCore(datagram, ref message);
        return error is null;
    }

    /// <summary>Checks FINGERPRINT: present, last, and equal to CRC-32 of everything before it XOR 0x5354554E.</summary>
    public bool HasValidFingerprint()
    {
        if (_fingerprintIndex < 0)
        {
            return false;
        }
        StunAttribute fp = _attributes[_fingerprintIndex];
        uint expected = ComputeFingerprint(_raw.AsSpan(0, fp.Offset));
        return BinaryPrimitives.ReadUInt32BigEndian(fp.Value.Span) == expected;
    }

    /// <summary>
    /// Checks MESSAGE-INTEGRITY-SHA256 if the message has it, else MESSAGE-INTEGRITY, with <paramref name="key"/>
    /// (<see cref="StunCredentials"/> derives long- and short-term keys). False when neither is present.
    /// Comparison is in constant time.
    /// </summary>
    public bool VerifyMessageIntegrity(ReadOnlySpan<byte> key)
    {
        if (_integritySha256Index >= 0)
        {
            return VerifyHmac(_attributes[_integritySha256Index], key, sha256: true);
        }
        return _integrityIndex >= 0 && VerifyHmac(_attributes[_integrityIndex], key, sha256: false);
    }

    /// <summary>The first attribute of <paramref name="type"/>, if any.</summary>
    public bool TryGetAttribute(ushort type, out StunAttribute attribute)
    {
        foreach (StunAttribute a in _attributes)
        {
            if (a.Type == type)
            {
                attribute = a;
                return true;
            }
        }
        attribute = default;
        return false;
    }

    /// <summary>Comprehension-required attributes (type &lt; 0x8000) this stack does not know, for a 420 reply.</summary>
    public IReadOnlyList<ushort> UnknownComprehensionRequired()
    {
        List<ushort>? unknown = null;
        foreach (StunAttribute a in _attributes)
        {
            if (StunAttributeType.IsComprehensionRequired(a.Type) && !StunAttributeType.IsKnown(a.Type))
            {
                (unknown ??= []).Add(a.Type);
            }
        }
        return unknown ?? (IReadOnlyList<ushort>)[];
    }

    /// <inheritdoc/>
    public override string ToString() => $"STUN {Method} {Class} {TransactionId} [{string.Join(", ", _attributes)}]";

    internal static uint ComputeFingerprint(ReadOnlySpan<byte> messageBeforeFingerprint)
    {
        // The CRC covers the header with its length already counting the 8-byte FINGERPRINT attribute.
        byte[]? rented = null;
        Span<byte> copy = messageBeforeFingerprint.Length <= 1024
            ? stackalloc byte[messageBeforeFingerprint.Length]
            : (rented = System.Buffers.ArrayPool<byte>.Shared.Rent(messageBeforeFingerprint.Length)).AsSpan(0, messageBeforeFingerprint.Length);
        messageBeforeFingerprint.CopyTo(copy);
        BinaryPrimitives.WriteUInt16BigEndian(copy[2..], (ushort)(messageBeforeFingerprint.Length + 8 - HeaderLength));
        uint crc = Crc32.Compute(copy) ^ FingerprintXor;
        if (rented is not null)
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }
        return crc;
    }

    internal static void ComputeHmac(ReadOnlySpan<byte> messageBeforeAttribute, ReadOnlySpan<byte> key, bool sha256, Span<byte> destination)
    {
        // The HMAC covers the header with its length counting up to the end of the integrity attribute itself.
        int attributeLength = 4 + (sha256 ? 32 : 20);
        byte[] rented = System.Buffers.ArrayPool<byte>.Shared.Rent(messageBeforeAttribute.Length);
        try
        {
            Span<byte> copy = rented.AsSpan(0, messageBeforeAttribute.Length);
            messageBeforeAttribute.CopyTo(copy);
            BinaryPrimitives.WriteUInt16BigEndian(copy[2..], (ushort)(messageBeforeAttribute.Length + attributeLength - HeaderLength));
            if (sha256)
            {
                HMACSHA256.HashData(key, copy, destination);
            }
            else
            {
#pragma warning disable CA5350 // HMAC-SHA1 is what MESSAGE-INTEGRITY is (RFC 8489 §14.5); SHA-256 is used wherever the peer supports it.
                HMACSHA1.HashData(key, copy, destination);
#pragma warning restore CA5350
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private bool VerifyHmac(StunAttribute attribute, ReadOnlySpan<byte> key, bool sha256)
    {
        Span<byte> mac = stackalloc byte[sha256 ? 32 : 20];
        ComputeHmac(_raw.AsSpan(0, attribute.Offset), key, sha256, mac);
        ReadOnlySpan<byte> received = attribute.Value.Span;
        // RFC 8489 §14.6: MESSAGE-INTEGRITY-SHA256 may be truncated to no less than 16 bytes (a multiple of 4).
        return sha256
            ? received.Length >= 16 && CryptographicOperations.FixedTimeEquals(received, mac[..received.Length])
            : CryptographicOperations.FixedTimeEquals(received, mac);
    }
}
