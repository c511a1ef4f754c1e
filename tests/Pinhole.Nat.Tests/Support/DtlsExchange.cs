using System.Net;
using Pinhole.Dtls;

namespace Pinhole.Nat.Tests.Support;

/// <summary>A DTLS session from A to B over whatever path the endpoints' binds take, and one message each way.</summary>
internal static class DtlsExchange
{
    /// <summary>
    /// A dials B at <paramref name="aToB"/>; B must see A at <paramref name="bToA"/>, authenticated as
    /// <paramref name="identityA"/>; then <paramref name="ping"/> goes to B and <paramref name="pong"/> back.
    /// </summary>
    public static async Task RunAsync(DtlsEndpoint dtlsA, NodeIdentity identityA, EndPoint aToB, DtlsEndpoint dtlsB, NodeIdentity identityB, EndPoint bToA,
        byte[] ping, byte[] pong, CancellationToken cancellationToken)
    {
        await using DtlsListener listener = dtlsB.Listen();
        Task<DtlsConnection> dial = dtlsA.ConnectAsync(aToB, identityB.PeerId, cancellationToken);
        await using DtlsConnection atB = await listener.AcceptAsync(cancellationToken);
        await using DtlsConnection atA = await dial;
        Assert.Equal(bToA, atB.RemoteEndPoint);
        Assert.Equal(identityA.PeerId, atB.RemotePeer);
        await atA.SendAsync(ping, cancellationToken);
        Assert.Equal(ping, await atB.ReceiveAsync(cancellationToken));
        await atB.SendAsync(pong, cancellationToken);
        Assert.Equal(pong, await atA.ReceiveAsync(cancellationToken));
    }

    /// <summary>The same between two muxes, each with a fresh identity and DTLS endpoint.</summary>
    public static async Task RunAsync(UdpMux muxA, EndPoint aToB, UdpMux muxB, EndPoint bToA, byte[] ping, byte[] pong, CancellationToken cancellationToken)
    {
        using NodeIdentity idA = NodeIdentity.Generate();
        using NodeIdentity idB = NodeIdentity.Generate();
        await using DtlsEndpoint dtlsA = DtlsEndpoint.Create(new DtlsEndpointOptions { Identity = idA, Bind = muxA.OpenDtlsBind() });
        await using DtlsEndpoint dtlsB = DtlsEndpoint.Create(new DtlsEndpointOptions { Identity = idB, Bind = muxB.OpenDtlsBind() });
        await RunAsync(dtlsA, idA, aToB, dtlsB, idB, bToA, ping, pong, cancellationToken);
    }
}
