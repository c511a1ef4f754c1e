using System.Diagnostics.CodeAnalysis;
using System.Formats.Asn1;
using System.Security.Cryptography;
using Org.BouncyCastle.Math.EC.Rfc8032;

namespace Pinhole.Identity;

/// <summary>
/// Ed25519 node keys (the BCL has no Ed25519): RFC 8032 via BouncyCastle, stored as RFC 8410 PKCS#8 PEM.
/// </summary>
/// <remarks>
/// <code>
/// PrivateKeyInfo ::= SEQUENCE { version INTEGER (0), algorithm SEQUENCE { OID 1.3.101.112 },
///                               privateKey OCTET STRING { OCTET STRING (32-byte seed) } }
/// </code>
/// </remarks>
internal static class Ed25519Keys
{
    public const int SeedLength = 32;
    private const string Oid = "1.3.101.112";
    private const string Label = "PRIVATE KEY";

    public static byte[] PublicKeyOf(ReadOnlySpan<byte> seed)
    {
        var publicKey = new byte[Ed25519.PublicKeySize];
        Ed25519.GeneratePublicKey(seed, publicKey);
        return publicKey;
    }

    /// <summary>Signs with the key's public half supplied, which spares deriving it again (a scalar multiplication) per signature.</summary>
    public static byte[] Sign(ReadOnlySpan<byte> seed, ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> data)
    {
        var signature = new byte[Ed25519.SignatureSize];
        Ed25519.Sign(seed, publicKey, data, signature);
        return signature;
    }

    public static string ExportPem(byte[] seed)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteInteger(0);
            using (writer.PushSequence())
            {
                writer.WriteObjectIdentifier(Oid);
            }
            var inner = new AsnWriter(AsnEncodingRules.DER);
            inner.WriteOctetString(seed);
            writer.WriteOctetString(inner.Encode());
        }
        return PemEncoding.WriteString(Label, writer.Encode());
    }

    /// <summary>True if the PEM is an Ed25519 PKCS#8 key; false if it is some other key (let the caller try).</summary>
    public static bool TryImportPem(string pem, [NotNullWhen(true)] out byte[]? seed)
    {
        seed = null;
        if (!PemEncoding.TryFind(pem, out var fields) || pem[fields.Label] != Label)
        {
            return false;
        }
        var der = Convert.FromBase64String(pem[fields.Base64Data].ToString());
        try
        {
            var reader = new AsnReader(der, AsnEncodingRules.DER);
            var info = reader.ReadSequence();
            info.ReadInteger();
            var algorithm = info.ReadSequence();
            if (algorithm.ReadObjectIdentifier() != Oid)
            {
                return false;
            }
            var inner = new AsnReader(info.ReadOctetString(), AsnEncodingRules.DER);
            var value = inner.ReadOctetString();
            if (value.Length != SeedLength)
            {
                throw new FormatException($"An Ed25519 private key is {SeedLength} bytes, not {value.Length}.");
            }
            seed = value;
            return true;
        }
        catch (AsnContentException e)
        {
            throw new FormatException("Malformed PKCS#8 private key: " + e.Message, e);
        }
    }
}
