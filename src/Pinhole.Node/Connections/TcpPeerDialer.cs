namespace Pinhole.Node;

/// <summary>The built-in dialer: <c>/ip4|ip6|dns*/…/tcp/…</c> with the libp2p TCP stack (<see cref="PeerConnection.ConnectAsync"/>).</summary>
internal sealed class TcpPeerDialer : IPeerDialer
{
    public ConnectionPathKind PathKind => ConnectionPathKind.Direct;

    public bool CanDial(Multiaddr address)
    {
        var components = address.Components;
        if (components.Count != 2)
        {
            return false;
        }
        return components[0].Protocol is "ip4" or "ip6" or "dns" or "dns4" or "dns6" && components[1].Protocol == "tcp";
    }

    public ValueTask<PeerConnection> DialAsync(PeerId peer, Multiaddr address, PeerConnectOptions options, CancellationToken cancellationToken)
        => PeerConnection.ConnectAsync(options, cancellationToken);
}
