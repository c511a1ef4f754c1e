using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Pinhole.Node;

/// <summary>
/// Everything a <see cref="PinholeNode"/> needs. <see cref="Validate"/> runs in
/// <see cref="PinholeNodeBuilder.Build"/>, before any socket or file is touched, and names the offending option.
/// </summary>
public sealed class PinholeNodeOptions
{
    /// <summary>File name of the peer store inside <see cref="Home"/>.</summary>
    public const string StoreFileName = "peers.db";

    /// <summary>File name of the local API socket inside <see cref="Home"/>.</summary>
    public const string ApiSocketFileName = "api.sock";

    /// <summary>This node's identity (required). The node does not dispose it.</summary>
    public NodeIdentity? Identity { get; set; }

    /// <summary>
    /// The node's home directory (where the peer store and the API socket live by default). Null: no
    /// persistent state; the peer store is in memory unless <see cref="StorePath"/> names a file.
    /// </summary>
    public string? Home { get; set; }

    /// <summary>
    /// TCP addresses to listen on with the libp2p stack, e.g. <c>/ip4/0.0.0.0/tcp/4001</c>; with
    /// <see cref="EnableUdp"/> a UDP socket (DTLS) is bound on the same address and port number. Port 0 picks a
    /// port free for both. Default: <c>/ip4/0.0.0.0/tcp/0</c>.
    /// </summary>
    public IList<Multiaddr> ListenAddresses { get; init; } = [];

    /// <summary>
    /// STUN servers (<see cref="System.Net.IPEndPoint"/> or <see cref="System.Net.DnsEndPoint"/>) that tell each UDP
    /// socket of the node its public address (<c>publicAddress</c> of <c>POST /v1/sockets</c>). When set, and no
    /// other layer was plugged in with <see cref="PinholeNodeBuilder.UseDatagramLayer"/>, every UDP socket gets a
    /// <see cref="StunDatagramLayerFactory"/> layer (STUN and DTLS on one port; Binding requests answered). Default none.
    /// </summary>
    public IList<EndPoint> StunServers { get; init; } = [];

    /// <summary>Also listen for DTLS datagrams on UDP, on the port number of each TCP address. Default true.</summary>
    public bool EnableUdp { get; set; } = true;

    /// <summary>Also listen on the Goblins-compatible OCapN <c>tcp-tls</c> netlayer. Default false.</summary>
    public bool EnableOcapn { get; set; }

    /// <summary>Where the tcp-tls netlayer listens when <see cref="EnableOcapn"/> is set. Default: all IPv4 addresses, the remembered port or any.</summary>
    public IPEndPoint? OcapnListenEndPoint { get; set; }

    /// <summary>Host hint in the node's <c>ocapn://</c> locator (default: the listen address, or localhost).</summary>
    public string? OcapnAdvertisedHost { get; set; }

    /// <summary>
    /// The SQLite peer store file. Default: <see cref="StoreFileName"/> in <see cref="Home"/>, or an in-memory
    /// store when there is no home. <c>:memory:</c> forces an in-memory store.
    /// </summary>
    public string? StorePath { get; set; }

    /// <summary>Transport settings shared by every connection the node makes or accepts.</summary>
    public NodeTransportOptions Transport { get; init; } = new();

    /// <summary>Connection manager: limits, dialling, reconnection, idle timeout.</summary>
    public NodeConnectionOptions Connections { get; init; } = new();

    /// <summary>The local REST API (Unix socket, optional web status page). Null: no API.</summary>
    public LocalApiOptions? Api { get; set; }

    /// <summary>
    /// How long <see cref="PinholeNode.StopAsync"/> lets running stream handlers finish before it closes every
    /// connection (the caller's token can cut it shorter). Default 10 s.
    /// </summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Time source for every timer of the node and its connections (tests pass a fake one).</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Logging.</summary>
    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;

    /// <summary>Creates the node's <see cref="Meter"/>s (the host's factory, so exporters find them). Null: a private factory.</summary>
    public IMeterFactory? MeterFactory { get; set; }

    /// <summary>The store file this configuration resolves to, or null for an in-memory store.</summary>
    public string? ResolvedStorePath => StorePath switch
    {
        ":memory:" => null,
        { } path => Path.GetFullPath(path),
        null when Home is not null => Path.Combine(Path.GetFullPath(Home), StoreFileName),
        _ => null,
    };

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (Identity is null)
        {
            throw new ArgumentException($"{nameof(Identity)} is required.", nameof(Identity));
        }
        foreach (var address in ListenAddresses)
        {
            if (!address.TryGetIPEndPoint(out _, out var transport) || transport != "tcp")
            {
                throw new ArgumentException($"Cannot listen on '{address}': only /ip4|ip6/<address>/tcp/<port> is supported (UDP uses the same port).", nameof(ListenAddresses));
            }
        }
        if (Home is not null && string.IsNullOrWhiteSpace(Home))
        {
            throw new ArgumentException($"{nameof(Home)} must not be blank.", nameof(Home));
        }
        if (StorePath is not null && string.IsNullOrWhiteSpace(StorePath))
        {
            throw new ArgumentException($"{nameof(StorePath)} must not be blank.", nameof(StorePath));
        }
        if (ShutdownTimeout < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(ShutdownTimeout), ShutdownTimeout, "Must not be negative.");
        }
        foreach (var server in StunServers)
        {
            if (server is not (IPEndPoint { Port: > 0 } or DnsEndPoint { Port: > 0 }))
            {
                throw new ArgumentException($"STUN server '{server}' must be IP:PORT or HOST:PORT with a port.", nameof(StunServers));
            }
        }
        ArgumentNullException.ThrowIfNull(Transport, nameof(Transport));
        ArgumentNullException.ThrowIfNull(Connections, nameof(Connections));
        ArgumentNullException.ThrowIfNull(TimeProvider, nameof(TimeProvider));
        ArgumentNullException.ThrowIfNull(LoggerFactory, nameof(LoggerFactory));
        Transport.Validate();
        Connections.Validate();
        Api?.Validate(Home);
    }
}
