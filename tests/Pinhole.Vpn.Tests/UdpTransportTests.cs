using System.Net;
using Pinhole.Vpn.DataPlane;

namespace Pinhole.Vpn.Tests;

/// <summary>The data plane's UDP socket on loopback (no privileges needed).</summary>
public class UdpTransportTests
{
    [Fact]
    public async Task Wake_ReturnsABlockedReceiveWithNothing_SoQueuedRelayFramesAreSeen()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        using UdpTransport transport = UdpTransport.Create(new IPEndPoint(IPAddress.Loopback, 0), VpnOffloads.All, fwmark: null);
        var datagrams = new ReceivedDatagram[transport.MaxReceiveBatch];
        Task<int> receive = Task.Factory.StartNew(() => transport.Receive(datagrams), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        // Whether Wake comes before or after the receive blocks, the eventfd stays readable until the receive sees it.
        transport.Wake();
        Assert.Equal(0, await receive.WaitAsync(TimeSpan.FromSeconds(30)));

        // And a real datagram still arrives after a wake.
        using var sender = new System.Net.Sockets.UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        receive = Task.Factory.StartNew(() => transport.Receive(datagrams), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        await sender.SendAsync(new byte[] { 0x06, 1, 2, 3 }, new IPEndPoint(IPAddress.Loopback, transport.LocalEndPoint.Port));
        int n = await receive.WaitAsync(TimeSpan.FromSeconds(30));
        if (n == 0)
        {
            // A spurious wake-up is allowed by the contract; the datagram is then read by the next call.
            n = await Task.Factory.StartNew(() => transport.Receive(datagrams), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).WaitAsync(TimeSpan.FromSeconds(30));
        }
        Assert.Equal(1, n);
        Assert.Equal(4, datagrams[0].Packet.Span.Length);
    }
}
