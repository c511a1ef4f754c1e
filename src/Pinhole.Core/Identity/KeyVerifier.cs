using System.Security.Cryptography;
using Org.BouncyCastle.Asn1.Sec;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Math.EC.Rfc8032;
using BcDigests = Org.BouncyCastle.Crypto.Digests;

namespace Pinhole.Identity;

/// <summary>
/// Checks and verifies libp2p public keys of every type. ECDSA and RSA use the BCL; Ed25519 and
/// secp256k1, which the BCL lacks, use BouncyCastle.
/// </summary>
internal static class KeyVerifier
{
    public const int Ed25519KeyLength = 32;
    public const int Secp256k1CompressedLength = 33;

    /// <summary>
    /// Checks the key and returns the imported BCL key for ECDSA and RSA (null for the others), so that
    /// verifying signatures later does not import (and curve-check) the key a second time.
    /// </summary>
    public static AsymmetricAlgorithm? Import(Libp2pKeyType type, ReadOnlySpan<byte> data)
    {
        return type switch
        {
            Libp2pKeyType.Ecdsa => ImportEcdsa(data),
            Libp2pKeyType.Rsa => ImportRsa(data),
            _ => CheckOther(type, data),
        };
    }

    private static AsymmetricAlgorithm? CheckOther(Libp2pKeyType type, ReadOnlySpan<byte> data)
    {
        CheckWellFormed(type, data);
        return null;
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
                if (data.Length != Secp256k1CompressedLength || (data[0] != 2 && data[0] != 3))
                {
                    throw new FormatException("A secp256k1 public key must be a 33-byte compressed point (02/03 prefix).");
                }
                try
                {
                    _ = Secp256k1Domain.Curve.DecodePoint(data.ToArray());
                }
                catch (ArgumentException e)
                {
                    throw new FormatException("The secp256k1 public key is not a point on the curve.", e);
                }
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

    public static bool Verify(Libp2pKeyType type, byte[] data, AsymmetricAlgorithm? imported, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        switch (imported)
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
            case Libp2pKeyType.Ed25519:
                return signature.Length == Ed25519.SignatureSize
                    && Ed25519.Verify(signature.ToArray(), 0, data, 0, message.ToArray(), 0, message.Length);
            case Libp2pKeyType.Secp256k1:
                return VerifySecp256k1(data, message, signature);
            default:
                return false;
        }
    }

    private static readonly ECDomainParameters Secp256k1Domain = CreateSecp256k1Domain();

    private static ECDomainParameters CreateSecp256k1Domain()
    {
        var curve = SecNamedCurves.GetByName("secp256k1");
        return new ECDomainParameters(curve.Curve, curve.G, curve.N, curve.H);
    }

    private static bool VerifySecp256k1(byte[] data, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        try
        {
            var point = Secp256k1Domain.Curve.DecodePoint(data);
            var signer = new DsaDigestSigner(new ECDsaSigner(), new BcDigests.Sha256Digest());
            signer.Init(false, new ECPublicKeyParameters(point, Secp256k1Domain));
            var bytes = message.ToArray();
            signer.BlockUpdate(bytes, 0, bytes.Length);
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
