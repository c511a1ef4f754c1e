using System.Security.Cryptography;
using Pinhole.Codecs;
using Pinhole.Identity;

namespace Pinhole;

/// <summary>
/// A peer's public host key in libp2p's encoding: the <c>PublicKey</c> protobuf of libp2p/specs peer-ids.md.
/// Pinhole's own nodes use Ed25519 (the default) or ECDSA P-256; remote libp2p peers may use any of the four key types, so all of
/// them can be decoded and can verify signatures.
/// </summary>
/// <remarks>
/// <code>
/// PublicKey = 0x08 varint(KeyType) 0x12 varint(len) Data
/// </code>
/// </remarks>
public sealed class Libp2pPublicKey : IEquatable<Libp2pPublicKey>
{
    /// <summary>Longest encoded key accepted (RSA-8192 SPKI is about 1.1 KB); checked before decoding.</summary>
    public const int MaxEncodedLength = 2048;

    private readonly byte[] _data;
    private readonly byte[] _encoded;

    // The key prepared for verifying (imported BCL key, decoded curve point), so each signature check does not
    // import or decompress it again.
    private readonly object? _imported;

    private Libp2pPublicKey(Libp2pKeyType type, byte[] data, byte[] encoded, object? imported)
    {
        Type = type;
        _data = data;
        _encoded = encoded;
        _imported = imported;
    }

    /// <summary>The key type.</summary>
    public Libp2pKeyType Type { get; }

    /// <summary>The key bytes in the type's own format (see <see cref="Libp2pKeyType"/>).</summary>
    public ReadOnlyMemory<byte> Data => _data;

    /// <summary>The protobuf encoding, the input of the PeerId hash.</summary>
    public ReadOnlyMemory<byte> Encoded => _encoded;

    /// <summary>The PeerId of this key.</summary>
    public PeerId PeerId => PeerId.FromPublicKey(this);

    /// <summary>Wraps an ECDSA key (any named curve) as a libp2p ECDSA key.</summary>
    public static Libp2pPublicKey FromECDsa(ECDsa key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Create(Libp2pKeyType.Ecdsa, key.ExportSubjectPublicKeyInfo());
    }

    /// <summary>Makes a key from its type and data, checking that the data is a well-formed key of that type.</summary>
    public static Libp2pPublicKey Create(Libp2pKeyType type, ReadOnlySpan<byte> data)
    {
        var imported = KeyVerifier.Import(type, data);
        var writer = new ProtobufWriter(data.Length + 8);
        writer.WriteVarint(1, (ulong)type);
        writer.WriteBytes(2, data);
        return new Libp2pPublicKey(type, data.ToArray(), writer.ToArray(), imported);
    }

    /// <summary>Decodes the protobuf form; throws <see cref="FormatException"/> saying what is wrong.</summary>
    public static Libp2pPublicKey Decode(ReadOnlySpan<byte> encoded)
    {
        if (encoded.Length > MaxEncodedLength)
        {
            throw new FormatException($"Encoded public key is {encoded.Length} bytes; at most {MaxEncodedLength} are accepted.");
        }
        var reader = new ProtobufReader(encoded);
        ulong? type = null;
        ReadOnlySpan<byte> data = default;
        var hasData = false;
        while (reader.TryReadField())
        {
            switch (reader.FieldNumber)
            {
                case 1:
                    type = reader.ReadVarint();
                    break;
                case 2:
                    data = reader.ReadBytes();
                    hasData = true;
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }
        if (type is null)
        {
            throw new FormatException("Public key protobuf has no Type field.");
        }
        if (!hasData)
        {
            throw new FormatException("Public key protobuf has no Data field.");
        }
        if (type > (ulong)Libp2pKeyType.Ecdsa)
        {
            throw new FormatException($"Unknown libp2p key type {type}.");
        }
        var key = Create((Libp2pKeyType)type.Value, data);
        // Re-encoding must give the same bytes: the PeerId hashes the encoding, so only the canonical one is accepted.
        if (!key._encoded.AsSpan().SequenceEqual(encoded))
        {
            throw new FormatException("Public key protobuf is not canonically encoded.");
        }
        return key;
    }

    /// <summary>Verifies a signature made with this key using the key type's libp2p signing rules.</summary>
    public bool Verify(ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature) => KeyVerifier.Verify(Type, _data, _imported, message, signature);

    /// <inheritdoc/>
    public bool Equals(Libp2pPublicKey? other) => other is not null && _encoded.AsSpan().SequenceEqual(other._encoded);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as Libp2pPublicKey);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.AddBytes(_encoded);
        return hash.ToHashCode();
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Type} key {PeerId}";
}
