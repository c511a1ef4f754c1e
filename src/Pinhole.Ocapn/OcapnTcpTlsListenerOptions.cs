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
    /// The most live connections: handshaking, waiting in <see cref="OcapnTcpTlsListener.AcceptAsync"/>, or accepted
    /// and not yet disposed. Over it a new connection is refused at once with a reason (see docs/ocapn.md). Default 32
    /// (Goblins' default, which Goblins only uses as the listen backlog).
    /// </summary>
    public int MaxConnections { get; set; } = 32;

    /// <summary>TCP listen backlog. Default 128.</summary>
    public int ListenBacklog { get; set; } = 128;

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
