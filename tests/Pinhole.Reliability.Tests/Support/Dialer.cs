using System.Net;
using System.Net.Sockets;
using Pinhole.Connections;
using Pinhole.Testing;

namespace Pinhole.Reliability.Tests.Support;

/// <summary>
/// A real libp2p dialer that chooses its source address (any 127.x.y.z), which the public API has no reason
/// to offer: per-address limits are tested with one peer per address.
/// </summary>
public static class Dialer
{
    /// <summary>A hang guard, never a measure: a dial on a loaded 2-core machine (with the attack running in the
    /// same process) can take many seconds; the tests time it for docs/reliability.md but do not bound it tightly.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>The real peer's own handshake deadline (its default, 10 s, is a production setting, not a hang guard).</summary>
    public static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(60);

    public static CancellationToken Bounded() => new CancellationTokenSource(Timeout).Token;

    public static IPEndPoint EndPoint(PeerListener listener) => listener.ListenAddresses[0].ToIPEndPoint();

    public static PeerListenerOptions Options(NodeIdentity identity, TimeProvider? time = null, Action<PeerListenerOptions>? configure = null)
    {
        var options = new PeerListenerOptions
        {
            Identity = identity,
            ListenAddresses = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/0")],
            TimeProvider = time ?? TimeProvider.System,
        };
        configure?.Invoke(options);
        return options;
    }

    /// <summary>Dials with the public API (source 127.0.0.1).</summary>
    public static async Task<PeerConnection> ConnectAsync(NodeIdentity identity, PeerListener listener, CancellationToken cancellationToken)
        => await PeerConnection.ConnectAsync(new PeerConnectOptions
        {
            Identity = identity,
            Remote = new PeerAddress(listener.LocalPeer, [listener.ListenAddresses[0]]),
            HandshakeTimeout = HandshakeTimeout,
        }, cancellationToken);

    /// <summary>Dials from <paramref name="source"/> and runs the same upgrade as <see cref="PeerConnection.ConnectAsync"/>.</summary>
    public static async Task<PeerConnection> ConnectFromAsync(IPAddress source, NodeIdentity identity, PeerListener listener, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.Bind(new IPEndPoint(source, 0));
            await socket.ConnectAsync(EndPoint(listener), cancellationToken);
            var options = new PeerConnectOptions { Identity = identity, Remote = new PeerAddress(listener.LocalPeer, [listener.ListenAddresses[0]]), HandshakeTimeout = HandshakeTimeout };
            var upgraded = await ConnectionUpgrader.UpgradeOutboundAsync(new NetworkStream(socket, ownsSocket: true), listener.LocalPeer, options, cancellationToken);
            return new PeerConnection(upgraded.Session, upgraded.RemoteKey, options, isInbound: false, "tcp", null, null);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public static Task WaitUntilAsync(Func<bool> condition, TimeSpan? timeout = null) => Eventually.TrueAsync(condition, "the listener's state", timeout ?? Timeout);
}
