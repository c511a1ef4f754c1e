using System.Net;

namespace Pinhole.Node;

/// <summary>
/// The node's local REST API (docs/node.md): on a Unix socket that only the node's own user and root may use
/// (checked per request with SO_PEERCRED), and optionally a web status page on a loopback TCP port.
/// </summary>
public sealed class LocalApiOptions
{
    /// <summary>The API socket. Default <see cref="PinholeNodeOptions.ApiSocketFileName"/> in the node's home.</summary>
    public string? SocketPath { get; set; }

    /// <summary>The web status page (and the API behind an API key) on loopback; null (the default) serves none.</summary>
    public WebUiOptions? Web { get; set; }

    /// <summary>
    /// Mode of the socket file, set right after it is created. Default 0600 (owner only); the SO_PEERCRED
    /// check applies whatever the mode.
    /// </summary>
    public UnixFileMode SocketFileMode { get; set; } = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>The socket this configuration resolves to.</summary>
    public string ResolveSocketPath(string? home) =>
        SocketPath is { } path ? Path.GetFullPath(path)
        : home is not null ? Path.Combine(Path.GetFullPath(home), PinholeNodeOptions.ApiSocketFileName)
        : throw new ArgumentException($"{nameof(SocketPath)} is required when the node has no home.", nameof(home));

    internal void Validate(string? home)
    {
        var path = ResolveSocketPath(home);
        // sockaddr_un.sun_path is 108 bytes including the terminating NUL.
        if (System.Text.Encoding.UTF8.GetByteCount(path) > 107)
        {
            throw new ArgumentException($"The API socket path '{path}' is longer than the 107 bytes a Unix socket address holds; choose a shorter {nameof(SocketPath)}.", nameof(home));
        }
        Web?.Validate();
    }
}

/// <summary>
/// The web status page: served on a loopback address only, behind an API key (Syncthing's model: Host check,
/// session cookie from a one-time login link, CSRF token for changes).
/// </summary>
public sealed class WebUiOptions
{
    /// <summary>File name of the API key inside the node's home (mode 0600).</summary>
    public const string ApiKeyFileName = "api-key";

    /// <summary>Where to listen; must be a loopback address. Default 127.0.0.1, a free port.</summary>
    public IPEndPoint EndPoint { get; set; } = new(IPAddress.Loopback, 0);

    /// <summary>
    /// The API key (at least 24 characters). Null: read from <see cref="ApiKeyFileName"/> in the home, created
    /// there with 32 random characters on first use (a fresh random key per start when there is no home).
    /// </summary>
    public string? ApiKey { get; set; }

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(EndPoint, nameof(EndPoint));
        if (!IPAddress.IsLoopback(EndPoint.Address))
        {
            throw new ArgumentException($"The status page listens on loopback only; {EndPoint} is not a loopback address.", nameof(EndPoint));
        }
        if (ApiKey is not null && ApiKey.Length < 24)
        {
            throw new ArgumentException("The API key must have at least 24 characters.", nameof(ApiKey));
        }
    }
}
