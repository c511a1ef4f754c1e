using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Pinhole.Nat.Relay;
using Pinhole.Testing;

namespace Pinhole.Nat.Tests.Support;

/// <summary>
/// A test node: an identity, a loopback listener, and a stream router that does what PinholeNode's dispatcher will do —
/// hand each inbound stream to the handler registered for its protocol (hop to the relay server, stop to the relay
/// client, dcutr to hole punching) and queue the rest in <see cref="Incoming"/>. Every connection it makes or accepts
/// (direct or relayed) is routed. Every wait is bounded.
/// </summary>
public sealed class TestPeer : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<string, Func<PeerConnection, PeerStream, Task>> _handlers = new(StringComparer.Ordinal);
    private readonly ConcurrentBag<PeerConnection> _connections = [];
    private readonly ConcurrentBag<Task> _loops = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<PeerConnection> _accepted = Channel.CreateUnbounded<PeerConnection>();

    private TestPeer(NodeIdentity identity, PeerConnectionOptions options, NetworkNamespace? ns)
    {
        Identity = identity;
        Options = options;
        Namespace = ns;
    }

    /// <summary>The namespace this peer's sockets live in (null: the host's, loopback).</summary>
    public NetworkNamespace? Namespace { get; }

    /// <summary>The port the listener is bound to.</summary>
    public int ListenPort => Listener!.ListenAddresses[0].ToIPEndPoint().Port;

    public NodeIdentity Identity { get; }

    public PeerId Id => Identity.PeerId;

    /// <summary>Options of every connection (also those relayed to this peer).</summary>
    public PeerConnectionOptions Options { get; }

    public PeerListener? Listener { get; private set; }

    public RelayServer? RelayServer { get; private set; }

    public RelayClient? RelayClient { get; private set; }

    /// <summary>Inbound application streams (no handler registered for their protocol), with their connection.</summary>
    public Channel<(PeerConnection Connection, PeerStream Stream)> Incoming { get; } = Channel.CreateUnbounded<(PeerConnection, PeerStream)>();

    /// <summary>The listener's address with /p2p.</summary>
    public Multiaddr Address => Listener!.ListenAddresses[0].Encapsulate(Id);

    public static CancellationToken Bounded() => new CancellationTokenSource(Timeout).Token;

    /// <summary>
    /// A peer listening on 127.0.0.1 (or not listening); inside <paramref name="ns"/> it listens on 0.0.0.0 with
    /// <see cref="PeerListenerOptions.ReusePort"/>, its sockets made inside the namespace.
    /// </summary>
    public static async Task<TestPeer> StartAsync(Action<PeerListenerOptions>? configure = null, bool listen = true, NetworkNamespace? ns = null)
    {
        var identity = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var options = new PeerListenerOptions
        {
            Identity = identity,
            ListenAddresses = [Multiaddr.Parse(ns is null ? "/ip4/127.0.0.1/tcp/0" : "/ip4/0.0.0.0/tcp/0")],
            LimitedConnectionProtocols = ["/test/small/1.0.0"],
            ReusePort = ns is not null,
            // Every test peer dials from 127.0.0.1 (or one lab host) and tests run in parallel on a loaded machine:
            // the listener's per-address admission limits and its 3 s first-byte deadline would refuse them at random.
            MaxConnectionsPerAddress = 100_000,
            MaxHandshakesPerAddress = 256,
            HandshakesPerSecondPerAddress = 1_000_000,
            HandshakeBurstPerAddress = 1_000_000,
            FirstByteTimeout = Timeout,
        };
        configure?.Invoke(options);
        var peer = new TestPeer(identity, options, ns);
        if (listen)
        {
            // PeerListener binds its sockets before ListenAsync returns, so binding on a thread inside the namespace puts them there.
            peer.Listener = ns is null
                ? await PeerListener.ListenAsync(options)
                : await ns.RunInside(() => PeerListener.ListenAsync(options).AsTask());
            peer._loops.Add(Task.Run(peer.AcceptLoopAsync));
        }
        return peer;
    }

    /// <summary>A TCP socket in this peer's namespace.</summary>
    public Socket CreateSocket(AddressFamily family) => Namespace?.CreateSocket(family, SocketType.Stream, ProtocolType.Tcp) ?? new Socket(family, SocketType.Stream, ProtocolType.Tcp);

    /// <summary>Dials <paramref name="other"/> at <paramref name="at"/> from this peer's namespace, upgrades as TCP does, and routes the connection.</summary>
    public async Task<PeerConnection> ConnectAsync(PeerId other, IPEndPoint at)
    {
        var socket = CreateSocket(at.AddressFamily);
        try
        {
            await socket.ConnectAsync(at, Bounded());
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        var info = new PeerUpgradeOptions
        {
            LocalAddress = Multiaddr.FromIPEndPoint((IPEndPoint)socket.LocalEndPoint!),
            RemoteAddress = Multiaddr.FromIPEndPoint((IPEndPoint)socket.RemoteEndPoint!),
        };
        var connection = await PeerConnection.UpgradeOutboundAsync(new NetworkStream(socket, ownsSocket: true), other, Options, info, Bounded());
        Route(connection);
        return connection;
    }

    public void Handle(string protocol, Func<PeerConnection, PeerStream, Task> handler) => _handlers[protocol] = handler;

    /// <summary>Serves as a circuit relay (hop).</summary>
    public RelayServer ServeRelay(Action<RelayServerOptions>? configure = null)
    {
        var options = new RelayServerOptions { Identity = Identity, PublicAddresses = () => [Address] };
        configure?.Invoke(options);
        RelayServer = new RelayServer(options);
        Handle(RelayServer.HopProtocolId, (c, s) => RelayServer.HandleHopStreamAsync(c, s));
        return RelayServer;
    }

    /// <summary>Becomes a relay client (stop), routing every relayed connection it accepts.</summary>
    public RelayClient UseRelayClient(Action<RelayClientOptions>? configure = null)
    {
        var options = new RelayClientOptions { ConnectionOptions = Options };
        configure?.Invoke(options);
        RelayClient = new RelayClient(options);
        Handle(RelayClient.StopProtocolId, (c, s) => RelayClient.HandleStopStreamAsync(c, s));
        _loops.Add(Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    var relayed = await RelayClient.AcceptAsync(_stop.Token);
                    Route(relayed);
                    await _accepted.Writer.WriteAsync(relayed);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
            }
        }));
        return RelayClient;
    }

    /// <summary>The next connection accepted (direct or relayed).</summary>
    public async Task<PeerConnection> AcceptAsync() => await _accepted.Reader.ReadAsync(Bounded());

    /// <summary>Dials another test peer directly and routes the connection.</summary>
    public async Task<PeerConnection> ConnectAsync(TestPeer other)
    {
        var options = new PeerConnectOptions
        {
            Identity = Identity,
            Remote = new PeerAddress(other.Id, [other.Listener!.ListenAddresses[0]]),
            LimitedConnectionProtocols = Options.LimitedConnectionProtocols,
            TimeProvider = Options.TimeProvider,
            IdleTimeout = Options.IdleTimeout,
            // On a fake clock a jump of minutes would send a keep-alive and expire it in the same jump.
            KeepAliveInterval = Options.KeepAliveInterval,
            HandshakeTimeout = Options.HandshakeTimeout,
        };
        var connection = await PeerConnection.ConnectAsync(options, Bounded());
        Route(connection);
        return connection;
    }

    /// <summary>Routes inbound streams of a connection made elsewhere (e.g. a relayed one this peer dialed).</summary>
    public void Route(PeerConnection connection)
    {
        _connections.Add(connection);
        _loops.Add(Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    var stream = await connection.AcceptStreamAsync(_stop.Token);
                    if (_handlers.TryGetValue(stream.Protocol, out var handler))
                    {
                        _ = Task.Run(() => handler(connection, stream));
                    }
                    else
                    {
                        await Incoming.Writer.WriteAsync((connection, stream));
                    }
                }
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
            {
            }
        }));
    }

    /// <summary>The next inbound application stream.</summary>
    public async Task<(PeerConnection Connection, PeerStream Stream)> NextStreamAsync() => await Incoming.Reader.ReadAsync(Bounded());

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (true)
            {
                var connection = await Listener!.AcceptAsync(_stop.Token);
                Route(connection);
                await _accepted.Writer.WriteAsync(connection);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (RelayClient is not null)
        {
            await RelayClient.DisposeAsync();
        }
        if (RelayServer is not null)
        {
            await RelayServer.DisposeAsync();
        }
        foreach (var connection in _connections)
        {
            await connection.DisposeAsync();
        }
        if (Listener is not null)
        {
            await Listener.DisposeAsync();
        }
        while (_accepted.Reader.TryRead(out var c))
        {
            await c.DisposeAsync();
        }
        await Task.WhenAll(_loops).WaitAsync(Timeout);
        Identity.Dispose();
        _stop.Dispose();
    }
}
