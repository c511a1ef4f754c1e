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
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

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
        }, cancellationToken);

    /// <summary>Dials from <paramref name="source"/> and runs the same upgrade as <see cref="PeerConnection.ConnectAsync"/>.</summary>
    public static async Task<PeerConnection> ConnectFromAsync(IPAddress source, NodeIdentity identity, PeerListener listener, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.Bind(new IPEndPoint(source, 0));
            await socket.ConnectAsync(EndPoint(listener), cancellationToken);
            var options = new PeerConnectOptions { Identity = identity, Remote = new PeerAddress(listener.LocalPeer, [listener.ListenAddresses[0]]) };
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
