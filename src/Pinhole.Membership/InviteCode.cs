using System.Security.Cryptography;
using Pinhole.Codecs;

namespace Pinhole.Membership;

/// <summary>
/// The text an admin hands to a new node out of band: the signed <see cref="Invite"/> (network id, coordinator
/// addresses and PeerId, the provisional membership) and the one-time private key that redeems it. Whoever holds
/// the string can redeem it once; the coordinator never sees the private key.
/// </summary>
/// <remarks>
/// <code>
/// text = "pinhole-invite:" base32(body)        lowercase RFC 4648 base32, no padding
/// body = 0x01                                 version
///        varint(len) Envelope                 the admin-signed invite (RFC 0002)
///        seed[32]                             the one-time Ed25519 private key (RFC 8032 seed)
/// </code>
/// </remarks>
public sealed class InviteCode : IDisposable
{
    /// <summary>The text prefix.</summary>
    public const string Prefix = "pinhole-invite:";

    /// <summary>Longest invite text accepted.</summary>
    public const int MaxTextLength = 8192;

    private const byte Version = 1;
    private const int SeedLength = 32;

    // PKCS#8 PrivateKeyInfo for Ed25519 (RFC 8410) up to the 32-byte seed.
    private static readonly byte[] Pkcs8Prefix = Convert.FromHexString("302e020100300506032b657004220420");

    private InviteCode(Invite invite, NodeIdentity key)
    {
        Invite = invite;
        Key = key;
    }

    /// <summary>The invite.</summary>
    public Invite Invite { get; }

    /// <summary>The one-time key that signs the redemption.</summary>
    public NodeIdentity Key { get; }

    /// <summary>Makes a fresh one-time key for an invite.</summary>
    public static NodeIdentity GenerateKey() => NodeIdentity.Generate(Libp2pKeyType.Ed25519);

    /// <summary>Pairs a signed invite with its one-time key.</summary>
    public static InviteCode Create(Invite invite, NodeIdentity key)
    {
        ArgumentNullException.ThrowIfNull(invite);
        ArgumentNullException.ThrowIfNull(key);
        if (!key.PublicKey.Equals(invite.Key))
        {
            throw new ArgumentException("The key is not the invite's one-time key.", nameof(key));
        }
        return new InviteCode(invite, key);
    }

    /// <summary>Parses and checks invite text (structure, the invite's signature, that the key matches the invite).</summary>
    public static InviteCode Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        text = text.Trim();
        if (text.Length > MaxTextLength)
        {
            throw new FormatException($"Invite is {text.Length} characters; at most {MaxTextLength} are accepted.");
        }
        if (!text.StartsWith(Prefix, StringComparison.Ordinal))
        {
            throw new FormatException($"Not an invite: it must start with '{Prefix}'.");
        }
        byte[] body;
        try
        {
            body = Base32.Decode(text.AsSpan(Prefix.Length));
        }
        catch (FormatException e)
        {
            throw new FormatException("Invite is not valid base32 (was it cut or retyped?): " + e.Message, e);
        }
        return Decode(body);
    }

    /// <summary>Decodes the binary body (see the remarks).</summary>
    public static InviteCode Decode(ReadOnlySpan<byte> body)
    {
        if (body.IsEmpty || body[0] != Version)
        {
            throw new FormatException(body.IsEmpty ? "Invite is empty." : $"Invite version {body[0]} is not supported (expected {Version}).");
        }
        var length = Varint.Read(body[1..], out var read);
        var start = 1 + read;
        if (length > (ulong)(body.Length - start) || (ulong)(body.Length - start) - length != SeedLength)
        {
            throw new FormatException("Invite is truncated or has trailing bytes.");
        }
        var invite = Invite.Open(body.Slice(start, (int)length));
        var seed = body[(start + (int)length)..];
        var key = ImportSeed(seed);
        if (!key.PublicKey.Equals(invite.Key))
        {
            key.Dispose();
            throw new FormatException("Invite's private key does not match its invite key.");
        }
        return new InviteCode(invite, key);
    }

    /// <summary>The text form.</summary>
    public override string ToString()
    {
        var seed = ExportSeed(Key);
        try
        {
            var envelope = Invite.Envelope.Encoded.Span;
            Span<byte> varint = stackalloc byte[Varint.MaxLength];
            var n = Varint.Write(varint, (ulong)envelope.Length);
            byte[] body = [Version, .. varint[..n], .. envelope, .. seed];
            return Prefix + Base32.Encode(body);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(seed);
        }
    }

    /// <inheritdoc/>
    public void Dispose() => Key.Dispose();

    private static NodeIdentity ImportSeed(ReadOnlySpan<byte> seed)
    {
        byte[] der = [.. Pkcs8Prefix, .. seed];
        try
        {
            return NodeIdentity.ImportPem(PemEncoding.WriteString("PRIVATE KEY", der));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(der);
        }
    }

    private static byte[] ExportSeed(NodeIdentity key)
    {
        if (key.KeyType != Libp2pKeyType.Ed25519)
        {
            throw new InvalidOperationException("Invite keys are Ed25519.");
        }
        var pem = key.ExportPem();
        var fields = PemEncoding.Find(pem);
        var der = Convert.FromBase64String(pem[fields.Base64Data]);
        try
        {
            if (der.Length != Pkcs8Prefix.Length + SeedLength || !der.AsSpan(0, Pkcs8Prefix.Length).SequenceEqual(Pkcs8Prefix))
            {
                throw new InvalidOperationException("Unexpected Ed25519 key encoding.");
            }
            return der[Pkcs8Prefix.Length..];
        }
        finally
        {
            CryptographicOperations.ZeroMemory(der);
        }
    }
}
