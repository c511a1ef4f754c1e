using System.Security.Cryptography;
using Pinhole.Identity;

namespace Pinhole;

/// <summary>
/// A node's long-term identity: an Ed25519 key (the default) or an ECDSA P-256 key, stored as a PEM PKCS#8
/// file readable only by its owner. The node's <see cref="PeerId"/> is derived from it; TLS certificates are
/// made from it on demand and thrown away.
/// </summary>
/// <remarks>
/// Ed25519 is the default because a node made with defaults must be dialable by the whole libp2p ecosystem:
/// go, rust and js libp2p all default to Ed25519, and js-libp2p 3.x cannot verify ECDSA host keys
/// (docs/interop.md). ECDSA P-256 identities (the default before) keep loading and working.
/// </remarks>
public sealed class NodeIdentity : IDisposable
{
    private const string NistP256Oid = "1.2.840.10045.3.1.7";
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode GroupOrOther = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>Largest key file read (a P-256 PKCS#8 PEM is about 240 bytes).</summary>
    public const int MaxKeyFileLength = 16 * 1024;

    /// <summary>The key type of identities created without one being named: <see cref="Libp2pKeyType.Ed25519"/>.</summary>
    public const Libp2pKeyType DefaultKeyType = Libp2pKeyType.Ed25519;

    private readonly ECDsa? _key;
    private readonly byte[]? _ed25519Seed;

    private NodeIdentity(ECDsa key)
    {
        _key = key;
        PublicKey = Libp2pPublicKey.FromECDsa(key);
        PeerId = PublicKey.PeerId;
    }

    private NodeIdentity(byte[] ed25519Seed)
    {
        _ed25519Seed = ed25519Seed;
        PublicKey = Libp2pPublicKey.Create(Libp2pKeyType.Ed25519, Ed25519Keys.PublicKeyOf(ed25519Seed));
        PeerId = PublicKey.PeerId;
    }

    /// <summary>The key type: <see cref="Libp2pKeyType.Ecdsa"/> (P-256) or <see cref="Libp2pKeyType.Ed25519"/>.</summary>
    public Libp2pKeyType KeyType => PublicKey.Type;

    /// <summary>The node's public key in libp2p encoding.</summary>
    public Libp2pPublicKey PublicKey { get; }

    /// <summary>The node's PeerId.</summary>
    public PeerId PeerId { get; }

    /// <summary>Makes a new random identity (not saved): Ed25519 (<see cref="DefaultKeyType"/>) unless <paramref name="keyType"/> says ECDSA (P-256).</summary>
    public static NodeIdentity Generate(Libp2pKeyType keyType = DefaultKeyType) => keyType switch
    {
        Libp2pKeyType.Ecdsa => new NodeIdentity(ECDsa.Create(ECCurve.NamedCurves.nistP256)),
        Libp2pKeyType.Ed25519 => new NodeIdentity(RandomNumberGenerator.GetBytes(Ed25519Keys.SeedLength)),
        _ => throw new ArgumentOutOfRangeException(nameof(keyType), keyType, "Node keys are ECDSA P-256 or Ed25519."),
    };

    /// <summary>
    /// Imports an Ed25519 private key (PKCS#8, <c>BEGIN PRIVATE KEY</c>) or a P-256 one (PKCS#8, or SEC1:
    /// <c>BEGIN EC PRIVATE KEY</c>) from PEM.
    /// Encrypted PEM is not supported (decrypt it first, as with <c>openssl pkey</c>).
    /// </summary>
    public static NodeIdentity ImportPem(string pem)
    {
        ArgumentNullException.ThrowIfNull(pem);
        if (pem.Contains("ENCRYPTED", StringComparison.Ordinal))
        {
            throw new FormatException("Encrypted private keys are not supported; decrypt it first (openssl pkey -in key.pem -out plain.pem).");
        }
        if (Ed25519Keys.TryImportPem(pem, out var seed))
        {
            return new NodeIdentity(seed);
        }
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(pem);
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException or PlatformNotSupportedException)
        {
            key.Dispose();
            throw new FormatException("The file does not hold a P-256 or Ed25519 private key in PEM (PKCS#8 or SEC1): " + e.Message, e);
        }
        var curve = key.ExportParameters(false).Curve;
        if (!curve.IsNamed || curve.Oid.Value != NistP256Oid)
        {
            var name = curve.Oid.FriendlyName ?? curve.Oid.Value ?? "an explicit curve";
            key.Dispose();
            throw new FormatException($"Node keys must be ECDSA P-256 or Ed25519; this key uses {name}.");
        }
        return new NodeIdentity(key);
    }

    /// <summary>Exports the private key as PEM PKCS#8 (keep it secret).</summary>
    public string ExportPem() => _key?.ExportPkcs8PrivateKeyPem() ?? Ed25519Keys.ExportPem(_ed25519Seed!);

    /// <summary>
    /// Loads the key file at <paramref name="path"/> (whatever its key type), or creates it with a
    /// <see cref="DefaultKeyType"/> key (mode 0600) if it does not exist.
    /// </summary>
    public static async Task<NodeIdentity> LoadOrCreateAsync(string path, CancellationToken cancellationToken = default)
        => await LoadOrCreateAsync(path, DefaultKeyType, cancellationToken).ConfigureAwait(false);

    /// <summary>Loads the key file (whatever its key type), or creates one of <paramref name="keyType"/> (mode 0600) if it does not exist.</summary>
    public static async Task<NodeIdentity> LoadOrCreateAsync(string path, Libp2pKeyType keyType, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (File.Exists(path))
        {
            return await LoadAsync(path, cancellationToken).ConfigureAwait(false);
        }
        var identity = Generate(keyType);
        try
        {
            if (await TrySaveNewAsync(identity, path, cancellationToken).ConfigureAwait(false))
            {
                return identity;
            }
        }
        catch
        {
            identity.Dispose();
            throw;
        }
        // Another process created it first: use theirs so both agree on one identity.
        identity.Dispose();
        return await LoadAsync(path, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Loads a key file. Like ssh, refuses a file that group or others can access: a node key that others
    /// can read is a key others can use.
    /// </summary>
    public static async Task<NodeIdentity> LoadAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new FileNotFoundException($"Key file '{path}' does not exist.", path);
        }
        if (!OperatingSystem.IsWindows())
        {
            var mode = File.GetUnixFileMode(path);
            if ((mode & GroupOrOther) != 0)
            {
                throw new UnauthorizedAccessException(
                    $"Permissions {ToOctal(mode)} for key file '{path}' are too open: it must not be accessible by group or others. Run: chmod 600 '{path}'.");
            }
        }
        if (info.Length > MaxKeyFileLength)
        {
            throw new FormatException($"Key file '{path}' is {info.Length} bytes; a key file is at most {MaxKeyFileLength}.");
        }
        var pem = await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false);
        try
        {
            return ImportPem(pem);
        }
        catch (FormatException e)
        {
            throw new FormatException($"Key file '{path}': {e.Message}", e);
        }
    }

    /// <summary>Saves to a new file with mode 0600; fails if the file exists.</summary>
    public async Task SaveAsync(string path, CancellationToken cancellationToken = default)
    {
        if (!await TrySaveNewAsync(this, path, cancellationToken).ConfigureAwait(false))
        {
            throw new IOException($"Key file '{path}' already exists; not overwriting a node identity.");
        }
    }

    private static async Task<bool> TrySaveNewAsync(NodeIdentity identity, string path, CancellationToken cancellationToken)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (!OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        else
        {
            Directory.CreateDirectory(directory);
        }
        // Write a private temp file, then link it into place: the key is never visible half-written or with a wider mode.
        var temp = Path.Combine(directory, $".{Path.GetFileName(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = OwnerOnly;
        }
        try
        {
            var stream = new FileStream(temp, options);
            await using (stream.ConfigureAwait(false))
            {
                var pem = System.Text.Encoding.ASCII.GetBytes(identity.ExportPem());
                await stream.WriteAsync(pem, cancellationToken).ConfigureAwait(false);
                await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
            try
            {
                File.Move(temp, path, overwrite: false);
                return true;
            }
            catch (IOException) when (File.Exists(path))
            {
                return false;
            }
        }
        finally
        {
            File.Delete(temp);
        }
    }

    private static string ToOctal(UnixFileMode mode) => "0" + Convert.ToString((int)mode & 0x1FF, 8);

    /// <summary>Signs with the node key as libp2p specifies for its type (ECDSA: SHA-256, DER signature; Ed25519: RFC 8032).</summary>
    public byte[] Sign(ReadOnlySpan<byte> data)
        => _key?.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence) ?? Ed25519Keys.Sign(_ed25519Seed!, PublicKey.Data.Span, data);

    /// <inheritdoc/>
    public override string ToString() => PeerId.ToString();

    /// <inheritdoc/>
    public void Dispose()
    {
        _key?.Dispose();
        if (_ed25519Seed is not null)
        {
            CryptographicOperations.ZeroMemory(_ed25519Seed);
        }
    }
}
