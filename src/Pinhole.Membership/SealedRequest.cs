using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Pinhole.Codecs;
using Pinhole.Membership.Internal;

namespace Pinhole.Membership;

/// <summary>
/// A message left in a node's request space: encrypted to the recipient's sealing key with HPKE (RFC 9180; see
/// docs/coordinator.md for the construction) and signed by the sender. The coordinator stores and forwards it for
/// an offline recipient and hands it only to the recipient, but cannot read it, alter it, or pass it off as another
/// sender's: the sender and recipient are bound into the HPKE context, so re-signing the ciphertext breaks it.
/// </summary>
/// <remarks>
/// Domain <c>pinhole-request-v1</c>, payload type <c>/pinhole/request/1</c>:
/// <code>
/// Request = 0x0a 0x20 network[32]          field 1: NetworkId
///           0x12 varint(len) recipient     field 2: PeerId multihash
///           0x1a varint(len) sender        field 3: PeerId multihash, equal to the envelope's signer
///           0x20 varint created_at         field 4: Unix seconds
///           0x28 varint expires_at         field 5: Unix seconds, after created_at, at most 30 days later
///           0x30 varint suite              field 6: 1 = DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-128-GCM
///           0x3a 0x08 key_id[8]            field 7: first 8 bytes of SHA-256(recipient's sealing key)
///           0x42 0x41 enc[65]              field 8: HPKE encapsulated key
///           0x4a varint(len) ciphertext    field 9: AES-128-GCM output (plaintext + 16-byte tag), at most 48 KiB + 16
/// info = "pinhole-request-v1" 0x00 network[32] varint(len) recipient varint(len) sender
/// aad  = created_at(8, big-endian) expires_at(8, big-endian) key_id[8]
/// </code>
/// </remarks>
public sealed class SealedRequest
{
    /// <summary>Largest plaintext.</summary>
    public const int MaxPlaintextLength = 48 * 1024;

    /// <summary>Longest lifetime.</summary>
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromDays(30);

    internal const int IdKind = 257;
    private const string What = "Request";
    private const int KeyIdLength = 8;
    private const ulong Suite = 1;

    private readonly byte[] _keyId;
    private readonly byte[] _enc;
    private readonly byte[] _ciphertext;

    private SealedRequest(SignedEnvelope envelope, NetworkId network, PeerId recipient, PeerId sender, DateTimeOffset createdAt, DateTimeOffset expiresAt,
        byte[] keyId, byte[] enc, byte[] ciphertext)
    {
        Envelope = envelope;
        Network = network;
        Recipient = recipient;
        Sender = sender;
        CreatedAt = createdAt;
        ExpiresAt = expiresAt;
        _keyId = keyId;
        _enc = enc;
        _ciphertext = ciphertext;
        Id = RecordId.Compute(IdKind, envelope.Payload);
    }

    /// <summary>The signed envelope (what travels and is stored).</summary>
    public SignedEnvelope Envelope { get; }

    /// <summary>The request's id.</summary>
    public RecordId Id { get; }

    /// <summary>The network.</summary>
    public NetworkId Network { get; }

    /// <summary>Who may read it.</summary>
    public PeerId Recipient { get; }

    /// <summary>Who wrote it (verified: the envelope's signer).</summary>
    public PeerId Sender { get; }

    /// <summary>When it was written.</summary>
    public DateTimeOffset CreatedAt { get; }

    /// <summary>When stores drop it.</summary>
    public DateTimeOffset ExpiresAt { get; }

    /// <summary>The size of the ciphertext.</summary>
    public int CiphertextLength => _ciphertext.Length;

    /// <summary>Encrypts <paramref name="plaintext"/> to <paramref name="recipientSealKey"/> and signs it as <paramref name="sender"/>.</summary>
    public static SealedRequest Seal(NodeIdentity sender, NetworkId network, PeerId recipient, ReadOnlySpan<byte> recipientSealKey,
        ReadOnlySpan<byte> plaintext, DateTimeOffset createdAt, TimeSpan lifetime)
    {
        ArgumentNullException.ThrowIfNull(sender);
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(recipient);
        if (plaintext.Length > MaxPlaintextLength)
        {
            throw new ArgumentException($"A request holds at most {MaxPlaintextLength} bytes, not {plaintext.Length}.", nameof(plaintext));
        }
        if (lifetime <= TimeSpan.Zero || lifetime > MaxLifetime)
        {
            throw new ArgumentOutOfRangeException(nameof(lifetime), lifetime, $"A request lives more than 0 and at most {MaxLifetime.TotalDays:0} days.");
        }
        var created = UnixTime.From(createdAt);
        var expires = created + (ulong)Math.Ceiling(lifetime.TotalSeconds);
        var keyId = KeyIdOf(recipientSealKey);
        var (enc, ciphertext) = Hpke.Seal(recipientSealKey, Info(network, recipient, sender.PeerId), Aad(created, expires, keyId), plaintext);
        var writer = new ProtobufWriter(ciphertext.Length + 256);
        writer.WriteBytes(1, network.Bytes.Span);
        writer.WriteBytes(2, recipient.Multihash.Span);
        writer.WriteBytes(3, sender.PeerId.Multihash.Span);
        writer.WriteVarint(4, created);
        writer.WriteVarint(5, expires);
        writer.WriteVarint(6, Suite);
        writer.WriteBytes(7, keyId);
        writer.WriteBytes(8, enc);
        writer.WriteBytes(9, ciphertext);
        return Build(SignedEnvelope.Seal(sender, RecordFormat.RequestDomain, RecordFormat.RequestType, writer.WrittenSpan));
    }

    /// <summary>Decodes and verifies a request envelope (signature, structure, sender = signer); does not decrypt.</summary>
    public static SealedRequest Decode(ReadOnlySpan<byte> envelope) =>
        Build(EnvelopeVerifier.Open(envelope, RecordFormat.RequestDomain, RecordFormat.RequestType, What));

    /// <summary>Decrypts with the recipient's key; throws <see cref="MembershipException"/> (<see cref="MembershipError.BadSignature"/>) if it was not sealed to it.</summary>
    public byte[] Open(SealingKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!KeyIdOf(key.PublicKey.Span).AsSpan().SequenceEqual(_keyId))
        {
            throw new MembershipException(MembershipError.Forbidden, $"{What} {Id.ToShortString()} is sealed to another key.");
        }
        try
        {
            return Hpke.Open(key.Key, _enc, Info(Network, Recipient, Sender), Aad(UnixTime.From(CreatedAt), UnixTime.From(ExpiresAt), _keyId), _ciphertext);
        }
        catch (CryptographicException e)
        {
            throw new MembershipException(MembershipError.BadSignature, $"{What} {Id.ToShortString()} from {Sender} does not decrypt: it was altered or not sealed for this recipient by this sender.", e);
        }
    }

    private static SealedRequest Build(SignedEnvelope envelope)
    {
        var reader = new ProtobufReader(envelope.Payload.Span);
        var fields = new FieldTracker(What);
        NetworkId? network = null;
        PeerId? recipient = null, sender = null;
        ulong created = 0, expires = 0, suite = 0;
        byte[] keyId = [], enc = [], ciphertext = [];
        while (reader.TryReadField())
        {
            switch (reader.FieldNumber)
            {
                case 1:
                    fields.Once(1);
                    network = RecordFormat.ReadNetwork(reader.ReadBytes(), What);
                    break;
                case 2:
                    fields.Once(2);
                    recipient = RecordFormat.ReadPeer(reader.ReadBytes(), What, "recipient");
                    break;
                case 3:
                    fields.Once(3);
                    sender = RecordFormat.ReadPeer(reader.ReadBytes(), What, "sender");
                    break;
                case 4:
                    fields.Once(4);
                    created = UnixTime.Check(reader.ReadVarint(), What, "created_at");
                    break;
                case 5:
                    fields.Once(5);
                    expires = UnixTime.Check(reader.ReadVarint(), What, "expires_at");
                    break;
                case 6:
                    fields.Once(6);
                    suite = reader.ReadVarint();
                    break;
                case 7:
                    fields.Once(7);
                    keyId = Fixed(reader.ReadBytes(), KeyIdLength, "key_id");
                    break;
                case 8:
                    fields.Once(8);
                    enc = Fixed(reader.ReadBytes(), Hpke.PublicKeyLength, "enc");
                    break;
                case 9:
                    fields.Once(9);
                    var bytes = reader.ReadBytes();
                    if (bytes.Length < Hpke.TagLength || bytes.Length > MaxPlaintextLength + Hpke.TagLength)
                    {
                        throw new FormatException($"{What}: ciphertext is {bytes.Length} bytes, expected {Hpke.TagLength} to {MaxPlaintextLength + Hpke.TagLength}.");
                    }
                    ciphertext = bytes.ToArray();
                    break;
                default:
                    throw fields.Unknown(reader.FieldNumber);
            }
        }
        fields.Require(1, "network");
        fields.Require(2, "recipient");
        fields.Require(3, "sender");
        fields.Require(4, "created_at");
        fields.Require(5, "expires_at");
        fields.Require(6, "suite");
        fields.Require(7, "key_id");
        fields.Require(8, "enc");
        fields.Require(9, "ciphertext");
        if (suite != Suite)
        {
            throw new FormatException($"{What}: unknown suite {suite}.");
        }
        if (expires <= created || expires - created > (ulong)MaxLifetime.TotalSeconds)
        {
            throw new FormatException($"{What}: expires_at must be after created_at and at most {MaxLifetime.TotalDays:0} days later.");
        }
        if (!sender!.Equals(envelope.Signer))
        {
            throw new MembershipException(MembershipError.BadSignature, $"{What}: claims sender {sender}, signed by {envelope.Signer}.");
        }
        return new SealedRequest(envelope, network!, recipient!, sender, UnixTime.To(created), UnixTime.To(expires), keyId, enc, ciphertext);
    }

    private static byte[] Fixed(ReadOnlySpan<byte> bytes, int length, string field) => bytes.Length == length
        ? bytes.ToArray()
        : throw new FormatException($"{What}: {field} is {bytes.Length} bytes, expected {length}.");

    private static byte[] KeyIdOf(ReadOnlySpan<byte> sealKey) => SHA256.HashData(sealKey)[..KeyIdLength];

    private static byte[] Info(NetworkId network, PeerId recipient, PeerId sender)
    {
        var r = recipient.Multihash.Span;
        var s = sender.Multihash.Span;
        Span<byte> rl = stackalloc byte[Varint.MaxLength];
        Span<byte> sl = stackalloc byte[Varint.MaxLength];
        rl = rl[..Varint.Write(rl, (ulong)r.Length)];
        sl = sl[..Varint.Write(sl, (ulong)s.Length)];
        return [.. Encoding.ASCII.GetBytes(RecordFormat.RequestDomain), 0, .. network.Bytes.Span, .. rl, .. r, .. sl, .. s];
    }

    private static byte[] Aad(ulong created, ulong expires, byte[] keyId)
    {
        var aad = new byte[16 + KeyIdLength];
        BinaryPrimitives.WriteUInt64BigEndian(aad, created);
        BinaryPrimitives.WriteUInt64BigEndian(aad.AsSpan(8), expires);
        keyId.CopyTo(aad, 16);
        return aad;
    }
}
