using System.Collections.Concurrent;
using System.Threading.Channels;
using Pinhole.Nat.Relay;

namespace Pinhole.Benchmarks.Relay;

/// <summary>
/// A node for the relay benchmark: identity, loopback listener, and the stream routing a PinholeNode does
/// (hop to the relay server, stop to the relay client, everything else to <see cref="Incoming"/>).
/// </summary>
internal sealed class BenchNode : IAsyncDisposable
{
    private readonly ConcurrentBag<PeerConnection> _connections = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];

    private BenchNode(NodeIdentity identity, PeerListener? listener, PeerListenerOptions options)
    {
        Identity = identity;
        Listener = listener;
        Options = options;
    }

    public NodeIdentity Identity { get; }

    public PeerListener? Listener { get; }

    public PeerListenerOptions Options { get; }

    public RelayServer? Server { get; private set; }

    public RelayClient? Client { get; private set; }

    public Channel<PeerStream> Incoming { get; } = Channel.CreateUnbounded<PeerStream>();

    public Channel<PeerConnection> Accepted { get; } = Channel.CreateUnbounded<PeerConnection>();

    public Multiaddr Address => Listener!.ListenAddresses[0];

    public static async Task<BenchNode> StartAsync(bool listen = true, bool relay = false, bool client = false)
    {
        var identity = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var options = new PeerListenerOptions
        {
            Identity = identity,
            ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")],
            MaxConnections = 4096,
            AcceptQueueLength = 4096,
            MaxConcurrentHandshakes = 256,
            // Every peer of the benchmark dials from 127.0.0.1: lift the per-address admission limits.
            MaxConnectionsPerAddress = 100_000,
            MaxConnectionsPerPeer = 100_000,
            MaxHandshakesPerAddress = 256,
            HandshakesPerSecondPerAddress = 1_000_000,
            HandshakeBurstPerAddress = 1_000_000,
            LimitedConnectionProtocols = [BenchProtocols.Echo, BenchProtocols.Sink],
        };
        var listener = listen ? await PeerListener.ListenAsync(options) : null;
        var node = new BenchNode(identity, listener, options);
        if (relay)
        {
            node.Server = new RelayServer(new RelayServerOptions
            {
                Identity = identity,
                CircuitLimit = null,
                MaxReservations = 100_000,
                MaxReservationsPerIP = 0,
                MaxCircuits = 100_000,
                MaxCircuitsPerPeer = 100_000,
            });
        }
        if (client)
        {
            node.Client = new RelayClient(new RelayClientOptions { ConnectionOptions = options, AcceptQueueLength = 100_000 });
            node._loops.Add(Task.Run(node.AcceptRelayedAsync));
        }
        if (listener is not null)
        {
            node._loops.Add(Task.Run(node.AcceptLoopAsync));
        }
        return node;
    }

    public async Task<PeerConnection> ConnectAsync(PeerId peer, Multiaddr address, CancellationToken cancellationToken)
    {
        var connection = await PeerConnection.ConnectAsync(new PeerConnectOptions
        {
            Identity = Identity,
            Remote = new PeerAddress(peer, [address]),
            LimitedConnectionProtocols = Options.LimitedConnectionProtocols,
        }, cancellationToken);
        Route(connection);
        return connection;
    }

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
                    _ = stream.Protocol switch
                    {
                        RelayServer.HopProtocolId when Server is not null => Task.Run(() => Server.HandleHopStreamAsync(connection, stream)),
                        RelayClient.StopProtocolId when Client is not null => Task.Run(() => Client.HandleStopStreamAsync(connection, stream)),
                        BenchProtocols.Echo => Task.Run(() => EchoAsync(stream)),
                        _ => Incoming.Writer.WriteAsync(stream).AsTask(),
                    };
                }
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
            {
            }
        }));
    }

    private static async Task EchoAsync(PeerStream stream)
    {
        await using (stream)
        {
            var buffer = new byte[16 * 1024];
            try
            {
                int n;
                while ((n = await stream.ReadAsync(buffer)) > 0)
                {
                    await stream.WriteAsync(buffer.AsMemory(0, n));
                }
                stream.CompleteWrites();
            }
            catch (IOException)
            {
            }
        }
    }

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (true)
            {
                var connection = await Listener!.AcceptAsync(_stop.Token);
                Route(connection);
                await Accepted.Writer.WriteAsync(connection);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    private async Task AcceptRelayedAsync()
    {
        try
        {
            while (true)
            {
                var connection = await Client!.AcceptAsync(_stop.Token);
                Route(connection);
                await Accepted.Writer.WriteAsync(connection);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (Client is not null)
        {
            await Client.DisposeAsync();
        }
        if (Server is not null)
        {
            await Server.DisposeAsync();
        }
        await Task.WhenAll(_connections.Select(c => c.DisposeAsync().AsTask()));
        while (Accepted.Reader.TryRead(out var c))
        {
            await c.DisposeAsync();
        }
        if (Listener is not null)
        {
            await Listener.DisposeAsync();
        }
        try
        {
            await Task.WhenAll(_loops).WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
        }
        Identity.Dispose();
        _stop.Dispose();
    }
}

internal static class BenchProtocols
{
    public const string Echo = "/pinhole-bench/echo/1.0.0";
    public const string Sink = "/pinhole-bench/sink/1.0.0";
}
