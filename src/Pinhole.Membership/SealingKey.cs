using System.Security.Cryptography;
using Pinhole.Membership.Internal;

namespace Pinhole.Membership;

/// <summary>
/// A node's key for sealed requests: a P-256 key-agreement key (HPKE DHKEM(P-256, HKDF-SHA256)), separate from the
/// node's signing key, announced in its signed endpoint record. Stored as PEM PKCS#8 readable only by its owner.
/// </summary>
public sealed class SealingKey : IDisposable
{
    private const int MaxFileLength = 16 * 1024;

    private SealingKey(ECDiffieHellman key)
    {
        Key = key;
        PublicKey = Hpke.SerializePublicKey(key);
    }

    /// <summary>The public key: an uncompressed P-256 point (65 bytes).</summary>
    public ReadOnlyMemory<byte> PublicKey { get; }

    internal ECDiffieHellman Key { get; }

    /// <summary>A new random key (not saved).</summary>
    public static SealingKey Generate() => new(ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256));

    /// <summary>Imports a P-256 private key from PEM (PKCS#8 or SEC1).</summary>
    public static SealingKey ImportPem(string pem)
    {
        ArgumentNullException.ThrowIfNull(pem);
        var key = ECDiffieHellman.Create();
        try
        {
            key.ImportFromPem(pem);
            if (key.KeySize != 256 || key.ExportParameters(false).Curve.Oid.Value != "1.2.840.10045.3.1.7")
            {
                throw new FormatException("A sealing key is a P-256 key.");
            }
            return new SealingKey(key);
        }
        // PlatformNotSupportedException: a PEM naming a curve OpenSSL does not know (found by fuzzing).
        catch (Exception e) when (e is ArgumentException or CryptographicException or PlatformNotSupportedException)
        {
            key.Dispose();
            throw new FormatException("The PEM does not hold a P-256 private key: " + e.Message, e);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>The private key as PEM PKCS#8 (keep it secret).</summary>
    public string ExportPem() => Key.ExportPkcs8PrivateKeyPem();

    /// <summary>Loads the key at <paramref name="path"/>, or creates it (mode 0600) when there is none.</summary>
    public static async Task<SealingKey> LoadOrCreateAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            var created = Generate();
            try
            {
                await PrivateFile.WriteNewAsync(path, System.Text.Encoding.ASCII.GetBytes(created.ExportPem()), cancellationToken).ConfigureAwait(false);
                return created;
            }
            catch (IOException) when (File.Exists(path))
            {
                created.Dispose();
            }
            catch
            {
                created.Dispose();
                throw;
            }
        }
        var pem = await PrivateFile.ReadTextAsync(path, MaxFileLength, cancellationToken).ConfigureAwait(false);
        return ImportPem(pem);
    }

    /// <inheritdoc/>
    public void Dispose() => Key.Dispose();
}
