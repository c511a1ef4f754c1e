using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Pinhole.Membership.Internal;

/// <summary>
/// HPKE (RFC 9180), base mode, single shot, with one suite: DHKEM(P-256, HKDF-SHA256) (KEM 0x0010), HKDF-SHA256
/// (KDF 0x0001), AES-128-GCM (AEAD 0x0001). Everything comes from the BCL: ECDiffieHellman for P-256, HKDF and
/// AesGcm, so no extra cryptography package is needed. Checked against RFC 9180 appendix A.3.
/// </summary>
/// <remarks>
/// <code>
/// LabeledExtract(salt, label, ikm)     = HKDF-Extract(salt, "HPKE-v1" || suite_id || label || ikm)
/// LabeledExpand(prk, label, info, L)   = HKDF-Expand(prk, I2OSP(L, 2) || "HPKE-v1" || suite_id || label || info, L)
/// Encap(pkR): skE, pkE = random; dh = ECDH(skE, pkR).x; enc = pkE (65 bytes, uncompressed)
///             shared_secret = LabeledExpand(LabeledExtract("", "eae_prk", dh), "shared_secret", enc || pkR, 32)   suite_id = "KEM" 0x0010
/// KeySchedule: context = 0x00 || LabeledExtract("", "psk_id_hash", "") || LabeledExtract("", "info_hash", info)
///              secret = LabeledExtract(shared_secret, "secret", ""); key = LabeledExpand(secret, "key", context, 16)
///              base_nonce = LabeledExpand(secret, "base_nonce", context, 12)                suite_id = "HPKE" 0x0010 0x0001 0x0001
/// Seal: ct = AES-128-GCM(key, base_nonce XOR seq 0, aad, pt)
/// </code>
/// </remarks>
internal static class Hpke
{
    public const int PublicKeyLength = 65;
    public const int PrivateKeyLength = 32;
    public const int TagLength = 16;
    private const int KeyLength = 16;
    private const int NonceLength = 12;
    private const int SecretLength = 32;

    private static readonly byte[] Version = Encoding.ASCII.GetBytes("HPKE-v1");
    private static readonly byte[] KemSuite = [.. Encoding.ASCII.GetBytes("KEM"), 0x00, 0x10];
    private static readonly byte[] HpkeSuite = [.. Encoding.ASCII.GetBytes("HPKE"), 0x00, 0x10, 0x00, 0x01, 0x00, 0x01];

    // The order of the P-256 group, big-endian.
    private static readonly byte[] Order = Convert.FromHexString("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551");

    /// <summary>Seals <paramref name="plaintext"/> to <paramref name="recipientPublicKey"/>; <paramref name="ephemeral"/> is for test vectors only.</summary>
    public static (byte[] Enc, byte[] Ciphertext) Seal(ReadOnlySpan<byte> recipientPublicKey, ReadOnlySpan<byte> info, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext, ECDiffieHellman? ephemeral = null)
    {
        using var recipient = ImportPublicKey(recipientPublicKey);
        var own = ephemeral ?? ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        try
        {
            var enc = SerializePublicKey(own);
            var dh = own.DeriveRawSecretAgreement(recipient.PublicKey);
            var shared = ExtractAndExpand(dh, enc, recipientPublicKey);
            var (key, nonce) = KeySchedule(shared, info);
            var ciphertext = new byte[plaintext.Length + TagLength];
            using var aes = new AesGcm(key, TagLength);
            aes.Encrypt(nonce, plaintext, ciphertext.AsSpan(0, plaintext.Length), ciphertext.AsSpan(plaintext.Length), aad);
            return (enc, ciphertext);
        }
        finally
        {
            if (ephemeral is null)
            {
                own.Dispose();
            }
        }
    }

    /// <summary>Opens a sealed message; throws <see cref="CryptographicException"/> if it was not sealed to this key with this info and aad.</summary>
    public static byte[] Open(ECDiffieHellman recipient, ReadOnlySpan<byte> enc, ReadOnlySpan<byte> info, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> ciphertext)
    {
        if (ciphertext.Length < TagLength)
        {
            throw new CryptographicException("The ciphertext is shorter than its authentication tag.");
        }
        using var sender = ImportPublicKey(enc);
        var dh = recipient.DeriveRawSecretAgreement(sender.PublicKey);
        var shared = ExtractAndExpand(dh, enc, SerializePublicKey(recipient));
        var (key, nonce) = KeySchedule(shared, info);
        var plaintext = new byte[ciphertext.Length - TagLength];
        using var aes = new AesGcm(key, TagLength);
        aes.Decrypt(nonce, ciphertext[..plaintext.Length], ciphertext[plaintext.Length..], plaintext, aad);
        return plaintext;
    }

    /// <summary>DeriveKeyPair for P-256 (RFC 9180 7.1.3): rejection sampling over candidates.</summary>
    public static ECDiffieHellman DeriveKeyPair(ReadOnlySpan<byte> ikm)
    {
        var prk = LabeledExtract(KemSuite, [], "dkp_prk", ikm);
        for (var counter = 0; counter < 256; counter++)
        {
            var candidate = LabeledExpand(KemSuite, prk, "candidate", [(byte)counter], PrivateKeyLength);
            if (!candidate.AsSpan().ContainsAnyExcept((byte)0) || candidate.AsSpan().SequenceCompareTo(Order) >= 0)
            {
                continue;
            }
            return ImportPrivateKey(candidate);
        }
        throw new CryptographicException("DeriveKeyPair found no valid P-256 scalar.");
    }

    public static ECDiffieHellman ImportPrivateKey(byte[] scalar) =>
        ECDiffieHellman.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, D = scalar });

    /// <summary>Imports an uncompressed P-256 point (0x04 || X || Y); throws <see cref="FormatException"/> if it is not one on the curve.</summary>
    public static ECDiffieHellman ImportPublicKey(ReadOnlySpan<byte> point)
    {
        if (point.Length != PublicKeyLength || point[0] != 0x04)
        {
            throw new FormatException($"A P-256 public key is {PublicKeyLength} bytes starting 0x04 (uncompressed point).");
        }
        try
        {
            return ECDiffieHellman.Create(new ECParameters
            {
                Curve = ECCurve.NamedCurves.nistP256,
                Q = new ECPoint { X = point[1..33].ToArray(), Y = point[33..].ToArray() },
            });
        }
        catch (CryptographicException e)
        {
            throw new FormatException("The P-256 public key is not a point on the curve.", e);
        }
    }

    public static byte[] SerializePublicKey(ECDiffieHellman key)
    {
        var q = key.ExportParameters(false).Q;
        return [0x04, .. q.X!, .. q.Y!];
    }

    private static byte[] ExtractAndExpand(ReadOnlySpan<byte> dh, ReadOnlySpan<byte> enc, ReadOnlySpan<byte> recipient)
    {
        var prk = LabeledExtract(KemSuite, [], "eae_prk", dh);
        return LabeledExpand(KemSuite, prk, "shared_secret", [.. enc, .. recipient], SecretLength);
    }

    private static (byte[] Key, byte[] Nonce) KeySchedule(ReadOnlySpan<byte> shared, ReadOnlySpan<byte> info)
    {
        var pskIdHash = LabeledExtract(HpkeSuite, [], "psk_id_hash", []);
        var infoHash = LabeledExtract(HpkeSuite, [], "info_hash", info);
        byte[] context = [0x00, .. pskIdHash, .. infoHash];
        var secret = LabeledExtract(HpkeSuite, shared, "secret", []);
        return (LabeledExpand(HpkeSuite, secret, "key", context, KeyLength), LabeledExpand(HpkeSuite, secret, "base_nonce", context, NonceLength));
    }

    private static byte[] LabeledExtract(byte[] suite, ReadOnlySpan<byte> salt, string label, ReadOnlySpan<byte> ikm)
    {
        byte[] labeled = [.. Version, .. suite, .. Encoding.ASCII.GetBytes(label), .. ikm];
        var prk = new byte[SHA256.HashSizeInBytes];
        HKDF.Extract(HashAlgorithmName.SHA256, labeled, salt, prk);
        return prk;
    }

    private static byte[] LabeledExpand(byte[] suite, ReadOnlySpan<byte> prk, string label, ReadOnlySpan<byte> info, int length)
    {
        var prefix = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(prefix, (ushort)length);
        byte[] labeled = [.. prefix, .. Version, .. suite, .. Encoding.ASCII.GetBytes(label), .. info];
        var output = new byte[length];
        HKDF.Expand(HashAlgorithmName.SHA256, prk, output, labeled);
        return output;
    }
}
