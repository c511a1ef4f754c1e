using System.Security.Cryptography;
using System.Text;
using Pinhole.Codecs;

namespace Pinhole;

/// <summary>
/// A libp2p signed envelope (libp2p/specs RFC 0002): a payload, its type, and the signer's public key and
/// signature. The signing domain is never sent: the verifier supplies it, so a signature made for one kind
/// of record cannot be replayed as another. Relay vouchers, peer records and every coordinator record use it.
/// </summary>
/// <remarks>
/// <code>
/// Envelope = 0x0a varint(len) PublicKey     (field 1: libp2p PublicKey protobuf)
///            0x12 varint(len) payload_type  (field 2: bytes, e.g. 03 01 for a peer record)
///            0x1a varint(len) payload       (field 3; absent when empty, as proto3 encodes it)
///            0x2a varint(len) signature     (field 5)
/// signed   = varint(len(domain)) domain varint(len(payload_type)) payload_type varint(len(payload)) payload
/// </code>
/// </remarks>
public sealed class SignedEnvelope
{
    /// <summary>Largest encoded envelope accepted; checked before decoding.</summary>
    public const int MaxEncodedLength = 64 * 1024;

    private readonly byte[] _payloadType;
    private readonly byte[] _payload;
    private readonly byte[] _signature;
    private readonly byte[] _encoded;

    private SignedEnvelope(Libp2pPublicKey publicKey, byte[] payloadType, byte[] payload, byte[] signature, byte[] encoded)
    {
        PublicKey = publicKey;
        _payloadType = payloadType;
        _payload = payload;
        _signature = signature;
        _encoded = encoded;
    }

    /// <summary>The signer's public key.</summary>
    public Libp2pPublicKey PublicKey { get; }

    /// <summary>The signer's PeerId.</summary>
    public PeerId Signer => PublicKey.PeerId;

    /// <summary>What the payload is (a multicodec or a path), as raw bytes.</summary>
    public ReadOnlyMemory<byte> PayloadType => _payloadType;

    /// <summary>The signed payload.</summary>
    public ReadOnlyMemory<byte> Payload => _payload;

    /// <summary>The signature over domain, payload type and payload.</summary>
    public ReadOnlyMemory<byte> Signature => _signature;

    /// <summary>The envelope's protobuf encoding.</summary>
    public ReadOnlyMemory<byte> Encoded => _encoded;

    /// <summary>Signs <paramref name="payload"/> with <paramref name="signer"/> for <paramref name="domain"/>.</summary>
    public static SignedEnvelope Seal(NodeIdentity signer, string domain, ReadOnlySpan<byte> payloadType, ReadOnlySpan<byte> payload)
    {
        ArgumentNullException.ThrowIfNull(signer);
        ArgumentException.ThrowIfNullOrEmpty(domain);
        var signature = signer.Sign(SignedBytes(domain, payloadType, payload));
        var writer = new ProtobufWriter(signer.PublicKey.Encoded.Length + payloadType.Length + payload.Length + signature.Length + 16);
        writer.WriteBytes(1, signer.PublicKey.Encoded.Span);
        writer.WriteBytes(2, payloadType);
        // proto3: an empty payload is the default value and is not written (as go-libp2p and js-libp2p encode it).
        if (!payload.IsEmpty)
        {
            writer.WriteBytes(3, payload);
        }
        writer.WriteBytes(5, signature);
        var encoded = writer.ToArray();
        if (encoded.Length > MaxEncodedLength)
        {
            throw new ArgumentException($"The envelope would be {encoded.Length} bytes; at most {MaxEncodedLength} are allowed.", nameof(payload));
        }
        return new SignedEnvelope(signer.PublicKey, payloadType.ToArray(), payload.ToArray(), signature, encoded);
    }

    /// <summary>
    /// Decodes and verifies an envelope: the payload type must be <paramref name="expectedPayloadType"/> and the
    /// signature must verify for <paramref name="domain"/>. Throws <see cref="FormatException"/> for malformed
    /// bytes or a wrong payload type, <see cref="CryptographicException"/> when the signature does not verify.
    /// </summary>
    public static SignedEnvelope Open(ReadOnlySpan<byte> encoded, string domain, ReadOnlySpan<byte> expectedPayloadType)
    {
        var envelope = Decode(encoded);
        if (!envelope._payloadType.AsSpan().SequenceEqual(expectedPayloadType))
        {
            throw new FormatException($"Envelope payload type is {Convert.ToHexString(envelope._payloadType)}, expected {Convert.ToHexString(expectedPayloadType)}.");
        }
        if (!envelope.Verify(domain))
        {
            throw new CryptographicException($"Envelope signature by {envelope.Signer} does not verify for domain '{domain}'.");
        }
        return envelope;
    }

    /// <summary>Decodes an envelope without checking its signature (see <see cref="Open"/>).</summary>
    public static SignedEnvelope Decode(ReadOnlySpan<byte> encoded)
    {
        if (encoded.Length > MaxEncodedLength)
        {
            throw new FormatException($"Envelope is {encoded.Length} bytes; at most {MaxEncodedLength} are accepted.");
        }
        var reader = new ProtobufReader(encoded);
        ReadOnlySpan<byte> key = default, type = default, payload = default, signature = default;
        bool hasKey = false, hasType = false, hasPayload = false, hasSignature = false;
        while (reader.TryReadField())
        {
            switch (reader.FieldNumber)
            {
                case 1:
                    key = reader.ReadBytes();
                    hasKey = true;
                    break;
                case 2:
                    type = reader.ReadBytes();
                    hasType = true;
                    break;
                case 3:
                    payload = reader.ReadBytes();
                    hasPayload = true;
                    break;
                case 5:
                    signature = reader.ReadBytes();
                    hasSignature = true;
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }
        if (!hasKey)
        {
            throw new FormatException("Envelope has no public key (field 1).");
        }
        if (!hasType || type.IsEmpty)
        {
            throw new FormatException("Envelope has no payload type (field 2).");
        }
        if (!hasSignature || signature.IsEmpty)
        {
            throw new FormatException("Envelope has no signature (field 5).");
        }
        _ = hasPayload; // An empty payload is legal.
        Libp2pPublicKey publicKey;
        try
        {
            publicKey = Libp2pPublicKey.Decode(key);
        }
        catch (FormatException e)
        {
            throw new FormatException("Envelope public key is invalid: " + e.Message, e);
        }
        return new SignedEnvelope(publicKey, type.ToArray(), payload.ToArray(), signature.ToArray(), encoded.ToArray());
    }

    /// <summary>True if the signature verifies for <paramref name="domain"/>.</summary>
    public bool Verify(string domain)
    {
        ArgumentException.ThrowIfNullOrEmpty(domain);
        return PublicKey.Verify(SignedBytes(domain, _payloadType, _payload), _signature);
    }

    private static byte[] SignedBytes(string domain, ReadOnlySpan<byte> payloadType, ReadOnlySpan<byte> payload)
    {
        var domainLength = Encoding.UTF8.GetByteCount(domain);
        var total = Varint.GetLength((ulong)domainLength) + domainLength
            + Varint.GetLength((ulong)payloadType.Length) + payloadType.Length
            + Varint.GetLength((ulong)payload.Length) + payload.Length;
        var buffer = new byte[total];
        var span = buffer.AsSpan();
        var at = Varint.Write(span, (ulong)domainLength);
        at += Encoding.UTF8.GetBytes(domain, span[at..]);
        at += Varint.Write(span[at..], (ulong)payloadType.Length);
        payloadType.CopyTo(span[at..]);
        at += payloadType.Length;
        at += Varint.Write(span[at..], (ulong)payload.Length);
        payload.CopyTo(span[at..]);
        return buffer;
    }
}
