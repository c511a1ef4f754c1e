using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using Pinhole.Codecs;

namespace Pinhole;

/// <summary>
/// A peer's identity: the libp2p peer ID of its public host key (libp2p/specs peer-ids.md), i.e. a
/// multihash of the key's protobuf encoding: the identity multihash when that encoding is at most 42
/// bytes (Ed25519, secp256k1), else sha2-256 (ECDSA, RSA).
/// </summary>
/// <remarks>
/// <para>Canonical text form: base58btc of the multihash (<c>Qm…</c>, <c>12D3Koo…</c>, <c>16Uiu2…</c>), as the
/// spec says implementations should display. <see cref="Parse(string)"/> also accepts the CIDv1 form
/// (<c>bafz…</c>: multibase base32 'b', version 1, codec libp2p-key 0x72), and an optional <c>/p2p/</c> prefix.</para>
/// <code>
/// multihash = varint(code) varint(length) digest      code 0x00 identity | 0x12 sha2-256 (length 32)
/// CIDv1     = 'b' base32( 0x01 0x72 multihash )
/// </code>
/// </remarks>
public sealed class PeerId : IEquatable<PeerId>, ISpanParsable<PeerId>
{
    private const int MaxIdentityLength = 42;
    private const ulong IdentityCode = 0x00;
    private const ulong Sha256Code = 0x12;
    private const ulong CidVersion1 = 0x01;
    private const ulong Libp2pKeyCodec = 0x72;

    /// <summary>Longest text accepted by <see cref="Parse(string)"/> (an identity multihash of 42 bytes is ~61 characters).</summary>
    public const int MaxTextLength = 128;

    // Keys of identity multihashes that decoded and validated, by their hex text: checking an Ed25519 point costs
    // ~50 µs, and a node formats and parses the same few peers' multiaddrs on every API call and connect.
    // Cleared when full, so a stream of distinct keys costs only the validation it would cost anyway.
    private const int ValidatedKeysCapacity = 4096;
    private static readonly ConcurrentDictionary<string, bool> ValidatedKeys = new(StringComparer.Ordinal);

    private readonly byte[] _multihash;

    // Encoded on first use: most PeerIds a node makes (store rows, multiaddrs it parses) are compared, not printed.
    // A race only encodes twice; the string is the same.
    private string? _text;

    private PeerId(byte[] multihash)
    {
        _multihash = multihash;
    }

    /// <summary>The multihash bytes (what the /p2p multiaddr component carries).</summary>
    public ReadOnlyMemory<byte> Multihash => _multihash;

    /// <summary>The PeerId of a public key.</summary>
    public static PeerId FromPublicKey(Libp2pPublicKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var encoded = key.Encoded.Span;
        byte[] multihash;
        if (encoded.Length <= MaxIdentityLength)
        {
            multihash = new byte[2 + encoded.Length];
            multihash[0] = (byte)IdentityCode;
            multihash[1] = (byte)encoded.Length;
            encoded.CopyTo(multihash.AsSpan(2));
        }
        else
        {
            multihash = new byte[2 + SHA256.HashSizeInBytes];
            multihash[0] = (byte)Sha256Code;
            multihash[1] = SHA256.HashSizeInBytes;
            SHA256.HashData(encoded, multihash.AsSpan(2));
        }
        return new PeerId(multihash);
    }

    /// <summary>Makes a PeerId from multihash bytes; throws <see cref="FormatException"/> if they are not a peer ID.</summary>
    public static PeerId FromMultihash(ReadOnlySpan<byte> multihash)
    {
        if (!TryValidateMultihash(multihash, out var error))
        {
            throw new FormatException(error);
        }
        return new PeerId(multihash.ToArray());
    }

    /// <summary>Parses any text form of a peer ID; the error names what is wrong.</summary>
    public static PeerId Parse(string text) => Parse(text.AsSpan());

    /// <summary>Parses any text form of a peer ID; the error names what is wrong.</summary>
    public static PeerId Parse(ReadOnlySpan<char> text)
    {
        return TryParse(text, out var id, out var error) ? id : throw new FormatException(error);
    }

    /// <summary>Tries to parse; on failure <paramref name="error"/> says why.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, [NotNullWhen(true)] out PeerId? peerId, [NotNullWhen(false)] out string? error)
    {
        peerId = null;
        text = text.Trim();
        if (text.StartsWith("/p2p/", StringComparison.Ordinal))
        {
            text = text[5..];
        }
        if (text.IsEmpty)
        {
            error = "Invalid peer ID: the text is empty.";
            return false;
        }
        if (text.Length > MaxTextLength)
        {
            error = $"Invalid peer ID: {text.Length} characters is longer than any peer ID ({MaxTextLength} at most).";
            return false;
        }
        byte[] multihash;
        try
        {
            if (text[0] is '1' or 'Q')
            {
                multihash = Base58.Decode(text);
            }
            else if (text[0] is 'b' or 'B')
            {
                var cid = Base32.Decode(text[1..]);
                if (!TryUnwrapCid(cid, out multihash, out error))
                {
                    error = $"Invalid peer ID '{text}': {error}";
                    return false;
                }
            }
            else
            {
                error = $"Invalid peer ID '{text}': it must be base58btc (starting with '1' or 'Qm') or a base32 CIDv1 (starting with 'b').";
                return false;
            }
        }
        catch (FormatException e)
        {
            error = $"Invalid peer ID '{text}': {e.Message}";
            return false;
        }
        if (!TryValidateMultihash(multihash, out error))
        {
            error = $"Invalid peer ID '{text}': {error}";
            return false;
        }
        peerId = new PeerId(multihash);
        error = null;
        return true;
    }

    /// <summary>Tries to parse.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, [NotNullWhen(true)] out PeerId? peerId)
    {
        peerId = null;
        return text is not null && TryParse(text.AsSpan(), out peerId, out _);
    }

    static PeerId IParsable<PeerId>.Parse(string s, IFormatProvider? provider) => Parse(s);

    static bool IParsable<PeerId>.TryParse([NotNullWhen(true)] string? s, IFormatProvider? provider, [MaybeNullWhen(false)] out PeerId result)
        => TryParse(s, out result);

    static PeerId ISpanParsable<PeerId>.Parse(ReadOnlySpan<char> s, IFormatProvider? provider) => Parse(s);

    static bool ISpanParsable<PeerId>.TryParse(ReadOnlySpan<char> s, IFormatProvider? provider, [MaybeNullWhen(false)] out PeerId result)
        => TryParse(s, out result, out _);

    private static bool TryUnwrapCid(byte[] cid, out byte[] multihash, [NotNullWhen(false)] out string? error)
    {
        multihash = [];
        if (Varint.TryRead(cid, out var version, out var n1) != Varint.ReadStatus.Done || version != CidVersion1)
        {
            error = "a CID peer ID must be CIDv1.";
            return false;
        }
        if (Varint.TryRead(cid.AsSpan(n1), out var codec, out var n2) != Varint.ReadStatus.Done || codec != Libp2pKeyCodec)
        {
            error = $"the CID's multicodec must be libp2p-key (0x72), not 0x{codec:x}.";
            return false;
        }
        multihash = cid[(n1 + n2)..];
        error = null;
        return true;
    }

    private static bool TryValidateMultihash(ReadOnlySpan<byte> multihash, [NotNullWhen(false)] out string? error)
    {
        if (Varint.TryRead(multihash, out var code, out var n1) != Varint.ReadStatus.Done
            || Varint.TryRead(multihash[n1..], out var length, out var n2) != Varint.ReadStatus.Done)
        {
            error = "the multihash header is truncated or malformed.";
            return false;
        }
        var digest = multihash[(n1 + n2)..];
        if ((ulong)digest.Length != length)
        {
            error = $"the multihash declares a {length}-byte digest but holds {digest.Length} bytes.";
            return false;
        }
        switch (code)
        {
            case Sha256Code when length == SHA256.HashSizeInBytes:
                break;
            case Sha256Code:
                error = $"a sha2-256 multihash digest is 32 bytes, not {length}.";
                return false;
            case IdentityCode when length > MaxIdentityLength:
                error = $"an identity multihash holds at most {MaxIdentityLength} bytes, not {length}.";
                return false;
            case IdentityCode:
                var key = Convert.ToHexString(digest);
                if (ValidatedKeys.ContainsKey(key))
                {
                    break;
                }
                try
                {
                    _ = Libp2pPublicKey.Decode(digest);
                }
                catch (FormatException e)
                {
                    error = "the identity multihash does not hold a valid public key: " + e.Message;
                    return false;
                }
                if (ValidatedKeys.Count >= ValidatedKeysCapacity)
                {
                    ValidatedKeys.Clear();
                }
                ValidatedKeys.TryAdd(key, true);
                break;
            default:
                error = $"multihash code 0x{code:x} is neither identity (0x00) nor sha2-256 (0x12).";
                return false;
        }
        error = null;
        return true;
    }

    /// <summary>For identity-multihash IDs (Ed25519, secp256k1) the key is inside the ID; else null.</summary>
    public Libp2pPublicKey? TryGetPublicKey() => _multihash[0] == IdentityCode ? Libp2pPublicKey.Decode(_multihash.AsSpan(2)) : null;

    /// <summary>True if <paramref name="key"/> is the key this ID names.</summary>
    public bool Matches(Libp2pPublicKey key) => FixedTimeEquals(FromPublicKey(key));

    /// <summary>Compares in constant time (for authentication decisions).</summary>
    public bool FixedTimeEquals(PeerId? other) => other is not null && CryptographicOperations.FixedTimeEquals(_multihash, other._multihash);

    /// <summary>The CIDv1 text form (<c>bafz…</c>).</summary>
    public string ToCidString()
    {
        var cid = new byte[2 + _multihash.Length];
        cid[0] = (byte)CidVersion1;
        cid[1] = (byte)Libp2pKeyCodec;
        _multihash.CopyTo(cid, 2);
        return "b" + Base32.Encode(cid);
    }

    /// <summary>The canonical text form: base58btc of the multihash.</summary>
    public override string ToString() => _text ??= Base58.Encode(_multihash);

    /// <inheritdoc/>
    public bool Equals(PeerId? other) => other is not null && _multihash.AsSpan().SequenceEqual(other._multihash);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as PeerId);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.AddBytes(_multihash);
        return hash.ToHashCode();
    }

    /// <summary>Equality by multihash.</summary>
    public static bool operator ==(PeerId? left, PeerId? right) => left is null ? right is null : left.Equals(right);

    /// <summary>Inequality by multihash.</summary>
    public static bool operator !=(PeerId? left, PeerId? right) => !(left == right);
}
