using System.Net;

namespace Pinhole.Dtls.Tests;

/// <summary>RFC 5705 keying material export, which the VPN keys its records with.</summary>
public class ExporterTests
{
    [Fact]
    public async Task BothSides_ExportTheSameBytes_PerLabelAndContext()
    {
        var network = new MemoryDatagramNetwork();
        await using var pair = Pair.Create(network.CreateBind(new IPEndPoint(IPAddress.Loopback, 1)), network.CreateBind(new IPEndPoint(IPAddress.Loopback, 2)));
        var (client, server) = await pair.ConnectAsync();

        byte[] a = new byte[80], b = new byte[80], c = new byte[80], d = new byte[80];
        client.ExportKeyingMaterial("EXPORTER-test", "ctx"u8, a);
        server.ExportKeyingMaterial("EXPORTER-test", "ctx"u8, b);
        server.ExportKeyingMaterial("EXPORTER-other", "ctx"u8, c);
        server.ExportKeyingMaterial("EXPORTER-test", "ctx2"u8, d);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.NotEqual(a, d);
        Assert.NotEqual(new byte[80], a);

        // A second session between the same peers gets different material.
        await using var pair2 = Pair.Create(network.CreateBind(new IPEndPoint(IPAddress.Loopback, 3)), network.CreateBind(new IPEndPoint(IPAddress.Loopback, 4)),
            serverIdentity: pair.ServerIdentity, clientIdentity: pair.ClientIdentity);
        var (client2, _) = await pair2.ConnectAsync();
        byte[] e = new byte[80];
        client2.ExportKeyingMaterial("EXPORTER-test", "ctx"u8, e);
        Assert.NotEqual(a, e);

        Assert.Throws<ArgumentException>(() => client.ExportKeyingMaterial("not-an-exporter", [], a));
        await client.CloseAsync();
        Assert.Equal(PeerError.ConnectionClosed, Assert.Throws<PeerException>(() => client.ExportKeyingMaterial("EXPORTER-test", [], a)).Error);
    }
}
