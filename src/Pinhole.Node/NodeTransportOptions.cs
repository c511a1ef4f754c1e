namespace Pinhole.Node;

/// <summary>
/// Transport settings for every connection of a node (the node builds <see cref="PeerListenerOptions"/> and
/// <see cref="PeerConnectOptions"/> from them). Defaults are those of <see cref="PeerConnectionOptions"/>.
/// </summary>
public sealed class NodeTransportOptions
{
    /// <summary>The whole connection upgrade must finish within this. Default 10 s.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Keep-alive pings (which also measure the round-trip time shown by the API). Default 30 s; zero disables.</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Open streams per connection. Default 512.</summary>
    public int MaxStreamsPerConnection { get; set; } = 512;

    /// <summary>Inbound connections the TCP listener keeps at once (it refuses more during negotiation). Default 1024.</summary>
    public int MaxInboundConnections { get; set; } = 1024;

    /// <summary>Inbound handshakes running at once. Default 64.</summary>
    public int MaxConcurrentHandshakes { get; set; } = 64;

    /// <summary>
    /// Inbound connections one source address (IPv4 address, IPv6 /64) may hold on the TCP listener. Default 64. Raise it
    /// where many peers share one address (behind a carrier-grade NAT, a relay on the same host, a benchmark on loopback).
    /// </summary>
    public int MaxInboundConnectionsPerAddress { get; set; } = 64;

    /// <summary>Inbound handshakes one source address may run at once. Default 8.</summary>
    public int MaxHandshakesPerAddress { get; set; } = 8;

    /// <summary>Sustained inbound handshakes per second from one source address. Default 10.</summary>
    public double HandshakesPerSecondPerAddress { get; set; } = 10;

    /// <summary>Inbound handshakes one source address may start in a burst. Default 20.</summary>
    public int HandshakeBurstPerAddress { get; set; } = 20;

    /// <summary>Largest DTLS datagram the node sends. Default 1452 (1500-byte path over IPv6).</summary>
    public int MaxDatagramSize { get; set; } = 1452;

    /// <summary>DTLS sessions per UDP socket. Default 1024.</summary>
    public int MaxDatagramSessions { get; set; } = 1024;

    /// <summary>UDP sockets the sockets API may hold at once. Default 256.</summary>
    public int MaxSockets { get; set; } = 256;

    /// <summary>
    /// Bind the TCP listener with SO_REUSEPORT so that hole punching (DCUtR) can dial from the listen port. Set by
    /// <see cref="NodeRelayExtensions.UseRelays"/> when hole punching is on. Default false.
    /// </summary>
    public bool ReusePort { get; set; }

    /// <summary>
    /// Creates the TCP socket of every outbound dial the node makes (its connections and DCUtR's punches), unconnected:
    /// for a node whose outbound traffic must leave through another network namespace or a given device. Default: a
    /// new TCP socket.
    /// </summary>
    public Func<System.Net.Sockets.AddressFamily, System.Net.Sockets.Socket>? OutboundSocketFactory { get; set; }

    /// <summary>
    /// Binds the UDP sockets the node opens once it runs — netcheck's probes, the extra sockets of birthday probing
    /// (UDP hole punching), sockets made through the API — as <see cref="OutboundSocketFactory"/> does for TCP: for a
    /// node whose traffic must leave through another network namespace. Default: <see cref="Pinhole.Dtls.UdpDatagramBind.Bind"/>.
    /// </summary>
    public Func<System.Net.IPEndPoint, Pinhole.Dtls.UdpDatagramBind>? DatagramBindFactory { get; set; }

    internal Pinhole.Dtls.UdpDatagramBind BindDatagrams(System.Net.IPEndPoint local) =>
        DatagramBindFactory?.Invoke(local) ?? Pinhole.Dtls.UdpDatagramBind.Bind(local);

    internal void Validate()
    {
        if (MaxSockets < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxSockets), MaxSockets, "Must not be negative.");
        }
        if (HandshakeTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(HandshakeTimeout), HandshakeTimeout, "Must be positive.");
        }
        if (KeepAliveInterval < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(KeepAliveInterval), KeepAliveInterval, "Must not be negative.");
        }
        if (MaxStreamsPerConnection < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxStreamsPerConnection), MaxStreamsPerConnection, "Must be at least 1.");
        }
        if (MaxInboundConnections < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxInboundConnections), MaxInboundConnections, "Must be at least 1.");
        }
        if (MaxConcurrentHandshakes < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxConcurrentHandshakes), MaxConcurrentHandshakes, "Must be at least 1.");
        }
        if (MaxInboundConnectionsPerAddress < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxInboundConnectionsPerAddress), MaxInboundConnectionsPerAddress, "Must be at least 1.");
        }
        if (MaxHandshakesPerAddress < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxHandshakesPerAddress), MaxHandshakesPerAddress, "Must be at least 1.");
        }
        if (!(HandshakesPerSecondPerAddress > 0) || double.IsInfinity(HandshakesPerSecondPerAddress))
        {
            throw new ArgumentOutOfRangeException(nameof(HandshakesPerSecondPerAddress), HandshakesPerSecondPerAddress, "Must be a positive finite rate.");
        }
        if (HandshakeBurstPerAddress < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(HandshakeBurstPerAddress), HandshakeBurstPerAddress, "Must be at least 1.");
        }
        if (MaxDatagramSize is < 256 or > 65507)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxDatagramSize), MaxDatagramSize, "Must be 256..65507.");
        }
        if (MaxDatagramSessions < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxDatagramSessions), MaxDatagramSessions, "Must be at least 1.");
        }
    }
}
