using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Pinhole.Ocapn.Internal;
using Pinhole.Ocapn.Syrup;

namespace Pinhole.Ocapn;

/// <summary>
/// A node's <c>tcp-tls</c> identity: its certificate and private key, the exact PEM bytes it sends before TLS,
/// and its designator (sha256d of those bytes). Persisted under <c>&lt;home&gt;/ocapn/tcp-tls/</c> as
/// <c>key.pem</c> (PKCS#8, mode 0600), <c>cert.pem</c> and <c>state.syrup</c> (the fixed listen port, if any),
/// so that the designator, and so every locator handed out, survives restarts.
/// </summary>
public sealed class OcapnNode : IDisposable
{
    /// <summary>Largest certificate PEM Pinhole sends or accepts before TLS (64 KiB).</summary>
    public const int MaxCertificatePemLength = 64 * 1024;

    private readonly byte[] _pem;

    private OcapnNode(X509Certificate2 certificate, byte[] pem, string? directory, int? listenPort)
    {
        Certificate = certificate;
        _pem = pem;
        Designator = OcapnDesignator.FromPem(pem);
        Directory = directory;
        ListenPort = listenPort;
        HasCanonicalPem = pem.AsSpan().SequenceEqual(NodeCertificates.CanonicalPem(certificate.RawData));
    }

    /// <summary>The certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The certificate PEM exactly as stored and sent before TLS.</summary>
    public ReadOnlyMemory<byte> CertificatePem => _pem;

    /// <summary>Lowercase hex sha256d of <see cref="CertificatePem"/>.</summary>
    public string Designator { get; }

    /// <summary>
    /// True when <see cref="CertificatePem"/> is in canonical form (always, for generated certificates). Only then
    /// does a Pinhole listener that authenticates dialers name this node by <see cref="Designator"/> when it dials.
    /// </summary>
    public bool HasCanonicalPem { get; }

    /// <summary>Where the identity is stored (<c>&lt;home&gt;/ocapn/tcp-tls</c>), or null for an in-memory node.</summary>
    public string? Directory { get; }

    /// <summary>The fixed listen port remembered from an earlier run, or null for "pick any".</summary>
    public int? ListenPort { get; private set; }

    /// <summary>This node's locator with <c>host</c> and <c>port</c> hints.</summary>
    public OcapnLocator GetLocator(string host, int port) => OcapnLocator.ForTcpTls(Designator, host, port);

    /// <summary>Creates an in-memory node with a fresh certificate (nothing is written).</summary>
    public static OcapnNode Create(OcapnKeyAlgorithm algorithm = OcapnKeyAlgorithm.EcdsaP256, TimeProvider? timeProvider = null)
    {
        var (certPem, keyPem) = NodeCertificates.Generate(algorithm, timeProvider ?? TimeProvider.System);
        return FromPem(certPem, keyPem);
    }

    /// <summary>
    /// Creates an in-memory node from a PEM certificate and private key (PKCS#8, PKCS#1 RSA or SEC1 EC; not
    /// encrypted). The certificate text is kept byte for byte, so the designator equals the one Goblins computes
    /// for the same file.
    /// </summary>
    /// <exception cref="CryptographicException">The PEM is not a certificate and matching key.</exception>
    public static OcapnNode FromPem(string certificatePem, string privateKeyPem) => FromPem(certificatePem, privateKeyPem, null, null);

    private static OcapnNode FromPem(string certificatePem, string privateKeyPem, string? directory, int? listenPort)
    {
        ArgumentNullException.ThrowIfNull(certificatePem);
        ArgumentNullException.ThrowIfNull(privateKeyPem);
        var pem = Encoding.UTF8.GetBytes(certificatePem);
        if (pem.Length > MaxCertificatePemLength)
        {
            throw new CryptographicException($"The certificate PEM is {pem.Length} bytes; peers accept at most {MaxCertificatePemLength}.");
        }
        if (!PreTls.LooksLikePem(pem, out var bad))
        {
            throw new CryptographicException($"The certificate file is not PEM text (byte 0x{pem[bad]:x2} at offset {bad}).");
        }
        X509Certificate2 certificate;
        try
        {
            certificate = X509Certificate2.CreateFromPem(certificatePem, privateKeyPem);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException or PlatformNotSupportedException)
        {
            // PlatformNotSupportedException: a key on a curve OpenSSL does not know (found by fuzzing ocapn-node-pem).
            throw new CryptographicException($"Cannot load the tcp-tls certificate and key: {ex.Message}", ex);
        }
        try
        {
            if (certificate.GetRSAPublicKey() is null && certificate.GetECDsaPublicKey() is null)
            {
                throw new CryptographicException("The tcp-tls certificate must have an RSA or ECDSA key.");
            }
        }
        catch (Exception ex) when (ex is CryptographicException or PlatformNotSupportedException)
        {
            certificate.Dispose();
            throw new CryptographicException($"The tcp-tls certificate must have a usable RSA or ECDSA key: {ex.Message}", ex);
        }
        return new OcapnNode(certificate, pem, directory, listenPort);
    }

    /// <summary>
    /// Loads the identity stored under <c>&lt;homeDirectory&gt;/ocapn/tcp-tls</c>, creating it (and the directory,
    /// mode 0700) on first use. A half-present identity (a key without a certificate or the reverse) is an error,
    /// never silently replaced.
    /// </summary>
    /// <exception cref="CryptographicException">The stored files are unreadable, mismatched or half-present.</exception>
    public static async Task<OcapnNode> LoadOrCreateAsync(string homeDirectory, OcapnNodeOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(homeDirectory);
        options ??= new OcapnNodeOptions();
        var dir = StorageDirectory(homeDirectory);
        var keyPath = Path.Combine(dir, "key.pem");
        var certPath = Path.Combine(dir, "cert.pem");
        var hasKey = File.Exists(keyPath);
        var hasCert = File.Exists(certPath);
        if (hasKey != hasCert)
        {
            throw new CryptographicException($"Incomplete tcp-tls identity in {dir}: found {(hasKey ? "key.pem" : "cert.pem")} without {(hasKey ? "cert.pem" : "key.pem")}. Restore the missing file or remove both to create a new identity (which changes the designator).");
        }
        if (!hasKey)
        {
            var (certPem, keyPem) = NodeCertificates.Generate(options.KeyAlgorithm, options.TimeProvider);
            await WriteIdentityAsync(dir, certPem, keyPem, overwrite: false, cancellationToken).ConfigureAwait(false);
            var created = await LoadAsync(dir, cancellationToken).ConfigureAwait(false);
            if (options.Logger is { } log)
            {
                OcapnLog.IdentityCreated(log, created.Designator, dir);
            }
            return created;
        }
        var node = await LoadAsync(dir, cancellationToken).ConfigureAwait(false);
        if (options.Logger is { } logger)
        {
            if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(keyPath) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
            {
                OcapnLog.KeyFileTooOpen(logger, keyPath);
            }
            OcapnLog.IdentityLoaded(logger, node.Designator, dir);
        }
        return node;
    }

    /// <summary>
    /// Imports an existing PEM certificate and key (e.g. from a Goblins node) into <c>&lt;homeDirectory&gt;/ocapn/tcp-tls</c>,
    /// keeping the certificate bytes unchanged so the designator stays the same. Refuses to replace an existing
    /// identity unless <paramref name="overwrite"/> is set.
    /// </summary>
    public static async Task<OcapnNode> ImportAsync(string homeDirectory, string certificatePem, string privateKeyPem, bool overwrite = false, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(homeDirectory);
        using (FromPem(certificatePem, privateKeyPem))
        {
            // Validates before anything is written.
        }
        var dir = StorageDirectory(homeDirectory);
        await WriteIdentityAsync(dir, certificatePem, privateKeyPem, overwrite, cancellationToken).ConfigureAwait(false);
        return await LoadAsync(dir, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Remembers (or, with null, forgets) a fixed listen port in <c>state.syrup</c>, so a restarted node listens
    /// where its published locators point. No-op for an in-memory node.
    /// </summary>
    public async Task SaveListenPortAsync(int? port, CancellationToken cancellationToken = default)
    {
        if (port is { } p)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(p, 1);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(p, 65535);
        }
        ListenPort = port;
        if (Directory is null)
        {
            return;
        }
        var state = port is { } fixedPort
            ? new SyrupDictionary([new(new SyrupSymbol("port"), new SyrupInteger(fixedPort))])
            : SyrupDictionary.Empty;
        await WriteAtomicAsync(Path.Combine(Directory, "state.syrup"), state.Encode(), UnixFileMode.UserRead | UnixFileMode.UserWrite, overwrite: true, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Releases the private key.</summary>
    public void Dispose() => Certificate.Dispose();

    internal static string StorageDirectory(string homeDirectory) => Path.Combine(homeDirectory, "ocapn", "tcp-tls");

    private static async Task<OcapnNode> LoadAsync(string dir, CancellationToken cancellationToken)
    {
        var certPath = Path.Combine(dir, "cert.pem");
        if (new FileInfo(certPath).Length > MaxCertificatePemLength)
        {
            throw new CryptographicException($"{certPath} is larger than {MaxCertificatePemLength} bytes.");
        }
        var certPem = await File.ReadAllTextAsync(certPath, Encoding.UTF8, cancellationToken).ConfigureAwait(false);
        var keyPem = await File.ReadAllTextAsync(Path.Combine(dir, "key.pem"), Encoding.UTF8, cancellationToken).ConfigureAwait(false);
        var statePath = Path.Combine(dir, "state.syrup");
        int? port = null;
        if (File.Exists(statePath))
        {
            port = ReadPort(await File.ReadAllBytesAsync(statePath, cancellationToken).ConfigureAwait(false), statePath);
        }
        return FromPem(certPem, keyPem, dir, port);
    }

    private static int? ReadPort(byte[] bytes, string path)
    {
        try
        {
            var state = (SyrupDictionary)SyrupReader.Decode(bytes, new SyrupReaderOptions { MaxTotalBytes = 4096, MaxDepth = 4 });
            return state.TryGetValue(new SyrupSymbol("port"), out var v) && v is SyrupInteger i && i.Value >= 1 && i.Value <= 65535 ? (int)i.Value : null;
        }
        catch (Exception ex) when (ex is SyrupFormatException or InvalidCastException)
        {
            throw new CryptographicException($"{path} is not a valid state file: {ex.Message}", ex);
        }
    }

    private static async Task WriteIdentityAsync(string dir, string certPem, string keyPem, bool overwrite, CancellationToken cancellationToken)
    {
        if (OperatingSystem.IsWindows())
        {
            System.IO.Directory.CreateDirectory(dir);
        }
        else
        {
            System.IO.Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        // Key first: a crash between the two writes leaves a key without a certificate, which load reports.
        await WriteAtomicAsync(Path.Combine(dir, "key.pem"), Encoding.UTF8.GetBytes(keyPem), UnixFileMode.UserRead | UnixFileMode.UserWrite, overwrite, cancellationToken).ConfigureAwait(false);
        await WriteAtomicAsync(Path.Combine(dir, "cert.pem"), Encoding.UTF8.GetBytes(certPem), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, overwrite, cancellationToken).ConfigureAwait(false);
    }

    private static async Task WriteAtomicAsync(string path, byte[] content, UnixFileMode mode, bool overwrite, CancellationToken cancellationToken)
    {
        if (!overwrite && File.Exists(path))
        {
            throw new IOException($"{path} already exists; refusing to replace a node identity.");
        }
        var temp = path + "." + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6)) + ".tmp";
        var fileOptions = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            fileOptions.UnixCreateMode = mode;
        }
        try
        {
            var stream = new FileStream(temp, fileOptions);
            await using (stream.ConfigureAwait(false))
            {
                await stream.WriteAsync(content, cancellationToken).ConfigureAwait(false);
                await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite);
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }
    }

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"tcp-tls node {Designator}");
}
