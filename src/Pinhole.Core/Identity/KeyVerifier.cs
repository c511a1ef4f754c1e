using System.Security.Cryptography;
using Org.BouncyCastle.Crypto.EC;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Math.EC.Rfc8032;
using BcDigests = Org.BouncyCastle.Crypto.Digests;

namespace Pinhole.Identity;

/// <summary>
/// Checks and verifies libp2p public keys of every type. ECDSA and RSA use the BCL; Ed25519 and
/// secp256k1, which the BCL lacks, use BouncyCastle (BouncyCastle.Cryptography 2.x).
/// </summary>
/// <remarks>
/// Each key is prepared once (<see cref="Import"/>): the BCL key for ECDSA and RSA, the decoded curve point for
/// Ed25519 and secp256k1, so a signature check neither imports nor decompresses the key again.
/// </remarks>
internal static class KeyVerifier
{
    public const int Ed25519KeyLength = 32;
    public const int Secp256k1CompressedLength = 33;

    /// <summary>
    /// Checks the key and returns it prepared for verifying: the imported BCL key (ECDSA, RSA), the decoded
    /// <see cref="Ed25519.PublicPoint"/> (null when the 32 bytes are no curve point: such a key verifies nothing), or
    /// the secp256k1 <see cref="ECPublicKeyParameters"/>.
    /// </summary>
    public static object? Import(Libp2pKeyType type, ReadOnlySpan<byte> data)
    {
        return type switch
        {
            Libp2pKeyType.Ecdsa => ImportEcdsa(data),
            Libp2pKeyType.Rsa => ImportRsa(data),
            Libp2pKeyType.Ed25519 => ImportEd25519(data),
            Libp2pKeyType.Secp256k1 => ImportSecp256k1(data),
            _ => throw new FormatException($"Unknown libp2p key type {(int)type}."),
        };
    }

    private static Ed25519.PublicPoint? ImportEd25519(ReadOnlySpan<byte> data)
    {
        CheckWellFormed(Libp2pKeyType.Ed25519, data);
        // Partial validation only decodes the point; libp2p implementations (Go crypto/ed25519, noble) accept
        // small-order keys at decode time too, so rejecting them here would refuse peers that others accept.
        return Ed25519.ValidatePublicKeyPartialExport(data);
    }

    private static ECPublicKeyParameters ImportSecp256k1(ReadOnlySpan<byte> data)
    {
        if (data.Length != Secp256k1CompressedLength || (data[0] != 2 && data[0] != 3))
        {
            throw new FormatException("A secp256k1 public key must be a 33-byte compressed point (02/03 prefix).");
        }
        try
        {
            return new ECPublicKeyParameters(Secp256k1Domain.Curve.DecodePoint(data.ToArray()), Secp256k1Domain);
        }
        catch (ArgumentException e)
        {
            throw new FormatException("The secp256k1 public key is not a point on the curve.", e);
        }
    }

    public static void CheckWellFormed(Libp2pKeyType type, ReadOnlySpan<byte> data)
    {
        switch (type)
        {
            case Libp2pKeyType.Ed25519:
                if (data.Length != Ed25519KeyLength)
                {
                    throw new FormatException($"An Ed25519 public key is {Ed25519KeyLength} bytes, not {data.Length}.");
                }
                break;
            case Libp2pKeyType.Secp256k1:
                _ = ImportSecp256k1(data);
                break;
            case Libp2pKeyType.Ecdsa:
                using (ImportEcdsa(data))
                {
                }
                break;
            case Libp2pKeyType.Rsa:
                using (ImportRsa(data))
                {
                }
                break;
            default:
                throw new FormatException($"Unknown libp2p key type {(int)type}.");
        }
    }

    public static bool Verify(Libp2pKeyType type, byte[] data, object? prepared, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        switch (prepared)
        {
            case ECDsa ecdsa:
                lock (ecdsa)
                {
                    return ecdsa.VerifyData(message, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
                }
            case RSA rsa:
                lock (rsa)
                {
                    return rsa.VerifyData(message, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
                }
            case Ed25519.PublicPoint point:
                return signature.Length == Ed25519.SignatureSize && Ed25519.Verify(signature, point, message);
            case ECPublicKeyParameters secp256k1:
                return VerifySecp256k1(secp256k1, message, signature);
            default:
                break;
        }
        switch (type)
        {
            case Libp2pKeyType.Ecdsa:
                using (var ecdsa = ImportEcdsa(data))
                {
                    return ecdsa.VerifyData(message, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
                }
            case Libp2pKeyType.Rsa:
                using (var rsa = ImportRsa(data))
                {
                    return rsa.VerifyData(message, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
                }
            case Libp2pKeyType.Secp256k1:
                return VerifySecp256k1(ImportSecp256k1(data), message, signature);
            default:
                // Ed25519 data that is no curve point (prepared is null): nothing verifies against it.
                return false;
        }
    }

    // CustomNamedCurves has the curve's specialised field arithmetic (SecP256K1Curve), several times faster than
    // the generic one SecNamedCurves gives.
    private static readonly ECDomainParameters Secp256k1Domain = CreateSecp256k1Domain();

    private static ECDomainParameters CreateSecp256k1Domain()
    {
        var curve = CustomNamedCurves.GetByName("secp256k1");
        return new ECDomainParameters(curve.Curve, curve.G, curve.N, curve.H);
    }

    /// <summary>libp2p secp256k1 signatures: ECDSA over SHA-256 of the message, DER-encoded (r, s).</summary>
    private static bool VerifySecp256k1(ECPublicKeyParameters key, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        try
        {
            var signer = new DsaDigestSigner(new ECDsaSigner(), new BcDigests.Sha256Digest());
            signer.Init(false, key);
            signer.BlockUpdate(message);
            return signer.VerifySignature(signature.ToArray());
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or IOException or FormatException)
        {
            return false;
        }
    }

    private static ECDsa ImportEcdsa(ReadOnlySpan<byte> spki)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportSubjectPublicKeyInfo(spki, out var read);
            if (read != spki.Length)
            {
                throw new FormatException("The ECDSA public key has trailing bytes after its SubjectPublicKeyInfo.");
            }
            return key;
        }
        catch (Exception e) when (e is CryptographicException or PlatformNotSupportedException)
        {
            // PlatformNotSupportedException: a curve OpenSSL does not know (found by fuzzing libp2p-public-key).
            key.Dispose();
            throw new FormatException("The ECDSA public key is not a valid DER SubjectPublicKeyInfo: " + e.Message, e);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    private static RSA ImportRsa(ReadOnlySpan<byte> spki)
    {
        var key = RSA.Create();
        try
        {
            key.ImportSubjectPublicKeyInfo(spki, out var read);
            if (read != spki.Length)
            {
                throw new FormatException("The RSA public key has trailing bytes after its SubjectPublicKeyInfo.");
            }
            if (key.KeySize < 2048)
            {
                throw new FormatException($"RSA keys of {key.KeySize} bits are too weak; at least 2048 are required.");
            }
            return key;
        }
        catch (CryptographicException e)
        {
            key.Dispose();
            throw new FormatException("The RSA public key is not a valid DER SubjectPublicKeyInfo: " + e.Message, e);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }
}
