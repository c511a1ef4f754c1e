using System.Net.Sockets;

namespace Pinhole;

/// <summary>Options for <see cref="PeerConnection.ConnectAsync"/>.</summary>
public sealed class PeerConnectOptions : PeerConnectionOptions
{
    /// <summary>Whom to dial: a peer and where to find it (required).</summary>
    public PeerAddress? Remote { get; set; }

    /// <summary>
    /// Accept whatever peer answers when <see cref="Remote"/> names no PeerId ("trust on first use", as stalk
    /// does without a server identity). The peer is still authenticated — you learn its PeerId from
    /// <see cref="PeerConnection.RemotePeer"/> — but nobody checked it is the one you meant. Logged as a warning.
    /// </summary>
    public bool TrustOnFirstUse { get; set; }

    /// <summary>
    /// The listen addresses this node reports in identify on the dialled connection (a node that also listens
    /// passes its dialable addresses, so that the peer can dial it back). Default: none.
    /// </summary>
    public Func<IReadOnlyList<Multiaddr>>? AdvertisedAddresses { get; set; }

    /// <summary>
    /// Creates the TCP socket of each dial attempt, unconnected, for the given address family: for a socket made
    /// inside another network namespace, bound to a device or marked for policy routing. Default: a new TCP socket.
    /// </summary>
    public Func<AddressFamily, Socket>? SocketFactory { get; set; }

    /// <inheritdoc/>
    public override void Validate()
    {
        base.Validate();
        if (Remote is null)
        {
            throw new ArgumentException($"{nameof(Remote)} is required.", nameof(Remote));
        }
        if (Remote.PeerId is null && !TrustOnFirstUse)
        {
            throw new ArgumentException(
                $"The address '{Remote}' names no PeerId, so the peer cannot be authenticated; add /p2p/<PeerId>, or opt in to trust on first use ({nameof(TrustOnFirstUse)}; pinhole: --trust-on-first-use) to accept any peer.",
                nameof(Remote));
        }
    }
}
