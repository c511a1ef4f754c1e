using System.Collections.Concurrent;
using System.Threading.Channels;
using Pinhole.Connections;

namespace Pinhole;

/// <summary>
/// An in-process netlayer for tests of everything above the transport: connections are yamux over in-memory
/// pipes, with no TLS. The network itself vouches for each side's identity (it hands each end the other's
/// public key), so it gives the same <see cref="PeerConnection"/> semantics without sockets or handshakes.
/// Listener names are the addresses: <c>memory://name</c>.
/// </summary>
public sealed class MemoryNetwork
{
    private readonly ConcurrentDictionary<string, Listener> _listeners = new(StringComparer.Ordinal);

    /// <summary>Makes a connected pair directly, without a listener.</summary>
    public static (PeerConnection Dialer, PeerConnection Listener) CreatePair(PeerConnectionOptions dialer, PeerConnectionOptions listener)
    {
        ArgumentNullException.ThrowIfNull(dialer);
        ArgumentNullException.ThrowIfNull(listener);
        dialer.Validate();
        listener.Validate();
        var (a, b) = DuplexPipeStream.CreatePair();
        var client = ConnectionUpgrader.StartSession(a, isClient: true, dialer);
        var server = ConnectionUpgrader.StartSession(b, isClient: false, listener);
        var dialerAddress = Multiaddr.Parse("/p2p/" + dialer.Identity!.PeerId);
        var listenerAddress = Multiaddr.Parse("/p2p/" + listener.Identity!.PeerId);
        return (
            new PeerConnection(client, listener.Identity.PublicKey, dialer, isInbound: false, "memory", dialerAddress, listenerAddress),
            new PeerConnection(server, dialer.Identity.PublicKey, listener, isInbound: true, "memory", listenerAddress, dialerAddress));
    }

    /// <summary>Starts accepting connections under <paramref name="name"/>.</summary>
    public MemoryListener Listen(string name, PeerConnectionOptions options)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var listener = new Listener(this, name, options);
        if (!_listeners.TryAdd(name, listener))
        {
            throw new PeerException(PeerError.InternalError, $"memory://{name} is already in use.");
        }
        return listener;
    }

    /// <summary>Connects to the listener named <paramref name="name"/>; it must be <paramref name="expected"/> unless null.</summary>
    public async ValueTask<PeerConnection> ConnectAsync(string name, PeerId? expected, PeerConnectionOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (!_listeners.TryGetValue(name, out var listener))
        {
            throw new PeerException(PeerError.Unreachable, $"Nothing listens on memory://{name}.");
        }
        var actual = listener.Options.Identity!.PeerId;
        if (expected is not null && !expected.FixedTimeEquals(actual))
        {
            throw new PeerException(PeerError.PeerMismatch, $"Peer mismatch: dialed {expected} but the peer proved {actual}.");
        }
        var (dialer, accepted) = CreatePair(options, listener.Options);
        try
        {
            await listener.Queue.Writer.WriteAsync(accepted, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException e)
        {
            await dialer.DisposeAsync().ConfigureAwait(false);
            await accepted.DisposeAsync().ConfigureAwait(false);
            throw new PeerException(PeerError.Refused, $"memory://{name} stopped listening.", e);
        }
        return dialer;
    }

    private sealed class Listener(MemoryNetwork network, string name, PeerConnectionOptions options) : MemoryListener
    {
        public PeerConnectionOptions Options { get; } = options;

        public Channel<PeerConnection> Queue { get; } = Channel.CreateBounded<PeerConnection>(64);

        public override string Name => name;

        public override async ValueTask<PeerConnection> AcceptAsync(CancellationToken cancellationToken = default)
        {
            try
            {
                return await Queue.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ChannelClosedException e)
            {
                throw new ObjectDisposedException($"memory://{name}", e);
            }
        }

        public override async ValueTask DisposeAsync()
        {
            network._listeners.TryRemove(new KeyValuePair<string, Listener>(name, this));
            Queue.Writer.TryComplete();
            while (Queue.Reader.TryRead(out var pending))
            {
                await pending.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}

/// <summary>A listener on a <see cref="MemoryNetwork"/>.</summary>
public abstract class MemoryListener : IAsyncDisposable
{
    /// <summary>The name dialers use.</summary>
    public abstract string Name { get; }

    /// <summary>Waits for the next connection.</summary>
    public abstract ValueTask<PeerConnection> AcceptAsync(CancellationToken cancellationToken = default);

    /// <summary>Stops listening; connections not yet accepted are closed.</summary>
    public abstract ValueTask DisposeAsync();
}
