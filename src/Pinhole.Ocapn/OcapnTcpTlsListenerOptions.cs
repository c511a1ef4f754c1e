using System.Net;
using System.Security.Authentication;
using Microsoft.Extensions.Logging;

namespace Pinhole.Ocapn;

/// <summary>Options for <see cref="OcapnTcpTlsNetlayer.ListenAsync"/>; validated when listening starts.</summary>
public sealed class OcapnTcpTlsListenerOptions
{
    /// <summary>This node's identity (required).</summary>
    public OcapnNode? Node { get; set; }

    /// <summary>
    /// Where to listen. Default <c>0.0.0.0:0</c> (all IPv4 addresses, as Goblins). With port 0 the node's remembered
    /// <see cref="OcapnNode.ListenPort"/> is used if there is one, else the system picks a port.
    /// </summary>
    public IPEndPoint ListenEndPoint { get; set; } = new(IPAddress.Any, 0);

    /// <summary>
    /// Remember a non-zero <see cref="ListenEndPoint"/> port in the node's home, so the next run listens there
    /// (Goblins' persistence-aware netlayer does the same). Default true.
    /// </summary>
    public bool PersistListenPort { get; set; } = true;

    /// <summary>
    /// The <c>host</c> hint of <see cref="OcapnTcpTlsListener.Locator"/>. Default: the listen address, or
    /// <c>localhost</c> when listening on all addresses (set it to the public name or address peers should dial).
    /// </summary>
    public string? AdvertisedHost { get; set; }

    /// <summary>
    /// The most established connections: waiting in <see cref="OcapnTcpTlsListener.AcceptAsync"/>, or accepted and not
    /// yet disposed. Sockets still handshaking do not count (see <see cref="MaxConcurrentHandshakes"/>). Over it a new
    /// connection is refused at once with a reason (see docs/ocapn.md). Default 32 (Goblins' default, which Goblins
    /// only uses as the listen backlog).
    /// </summary>
    public int MaxConnections { get; set; } = 32;

    /// <summary>Established connections from one source address (IPv4 address, IPv6 /64). Default 16.</summary>
    public int MaxConnectionsPerAddress { get; set; } = 16;

    /// <summary>Established connections of one dialer designator (dialers that presented a certificate). Default 8.</summary>
    public int MaxConnectionsPerPeer { get; set; } = 8;

    /// <summary>
    /// The handshake budget: connections between TCP accept and a finished TLS handshake. When full, a newcomer evicts
    /// the least advanced handshake of the busiest source, or is refused (docs/reliability.md). Default 64.
    /// </summary>
    public int MaxConcurrentHandshakes { get; set; } = 64;

    /// <summary>Handshakes one source address may run at once; more are refused at once. Default 8.</summary>
    public int MaxHandshakesPerAddress { get; set; } = 8;

    /// <summary>After the PEM preamble, the dialer must start TLS within this. Default 3 s.</summary>
    public TimeSpan FirstByteTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>New handshakes per second one source address may start (16 times it for its IPv4 /16 or IPv6 /32); over it, a reset. Default 10.</summary>
    public double HandshakesPerSecondPerAddress { get; set; } = 10;

    /// <summary>New handshakes one source address may start in a burst. Default 20.</summary>
    public int HandshakeBurstPerAddress { get; set; } = 20;

    /// <summary>TCP listen backlog (capped by <c>net.core.somaxconn</c>): deep, so a burst of strangers does not drop a real dialer's SYN. Default 4096.</summary>
    public int ListenBacklog { get; set; } = 4096;

    /// <summary>Whether to ask dialers for a certificate. Default <see cref="OcapnClientAuthentication.None"/> (Goblins behaviour).</summary>
    public OcapnClientAuthentication ClientAuthentication { get; set; } = OcapnClientAuthentication.None;

    /// <summary>Time allowed for the pre-TLS write and the TLS handshake. Default 10 s.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>TLS versions. Default <see cref="SslProtocols.None"/>: the system's choice (TLS 1.2 and 1.3).</summary>
    public SslProtocols EnabledSslProtocols { get; set; } = SslProtocols.None;

    /// <summary>Clock for timeouts. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Logger. Default none.</summary>
    public ILogger? Logger { get; set; }

    internal void Validate()
    {
        if (Node is null)
        {
            throw new ArgumentException("OcapnTcpTlsListenerOptions.Node is required.", nameof(Node));
        }
        ArgumentNullException.ThrowIfNull(ListenEndPoint);
        ArgumentNullException.ThrowIfNull(TimeProvider);
        if (MaxConnections < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxConnections), MaxConnections, "MaxConnections must be at least 1.");
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConnectionsPerAddress, 1, nameof(MaxConnectionsPerAddress));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConnectionsPerPeer, 1, nameof(MaxConnectionsPerPeer));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxConcurrentHandshakes, 1, nameof(MaxConcurrentHandshakes));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxHandshakesPerAddress, 1, nameof(MaxHandshakesPerAddress));
        if (FirstByteTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(FirstByteTimeout), FirstByteTimeout, "FirstByteTimeout must be positive.");
        }
        if (!(HandshakesPerSecondPerAddress > 0) || double.IsInfinity(HandshakesPerSecondPerAddress))
        {
            throw new ArgumentOutOfRangeException(nameof(HandshakesPerSecondPerAddress), HandshakesPerSecondPerAddress, "Must be a positive, finite rate.");
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(HandshakeBurstPerAddress, 1, nameof(HandshakeBurstPerAddress));
        if (ListenBacklog < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(ListenBacklog), ListenBacklog, "ListenBacklog must be at least 1.");
        }
        if (HandshakeTimeout <= TimeSpan.Zero && HandshakeTimeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(HandshakeTimeout), HandshakeTimeout, "HandshakeTimeout must be positive.");
        }
        if (!Enum.IsDefined(ClientAuthentication))
        {
            throw new ArgumentOutOfRangeException(nameof(ClientAuthentication), ClientAuthentication, "Unknown client authentication mode.");
        }
        if (AdvertisedHost is { Length: 0 })
        {
            throw new ArgumentException("AdvertisedHost must not be empty.", nameof(AdvertisedHost));
        }
    }
}
