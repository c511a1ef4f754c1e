using System.Net;
using Pinhole.Nat;

namespace Pinhole.Node.Tests;

/// <summary><c>GET /v1/netcheck</c>: the node probes against its own STUN servers, a real one on loopback here.</summary>
public sealed class NetcheckApiTests : IAsyncLifetime
{
    private readonly TestNodes _nodes = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _nodes.DisposeAsync();

    [Fact]
    public async Task The_node_checks_against_its_stun_servers()
    {
        await using var stun = StunServer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var (_, api) = await ApiNodes.StartAsync(_nodes, b => b.Options.StunServers.Add(stun.LocalEndPoints[0]));
        using var client = api;

        var report = await client.NetcheckAsync(testHairpinning: false);
        Assert.True(report.Udp);
        Assert.StartsWith("127.0.0.1:", report.PublicIPv4, StringComparison.Ordinal); // loopback: no NAT in between
        var server = Assert.Single(report.Servers);
        Assert.Equal(stun.LocalEndPoints[0].ToString(), server.Server);
        Assert.NotNull(server.LatencyMilliseconds);
        Assert.Null(report.Hairpinning); // not asked
        Assert.Null(report.PortMapping); // the node maps no ports: its gateway is not asked
        // One server without RFC 5780's second address: behaviour discovery is not possible, and the report says so.
        Assert.Contains(report.Notes, n => n.Contains("RFC 5780", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_node_without_stun_servers_says_so()
    {
        var (_, api) = await ApiNodes.StartAsync(_nodes);
        using var client = api;
        var e = await Assert.ThrowsAsync<PinholeApiException>(() => client.NetcheckAsync());
        Assert.Equal(HttpStatusCode.Conflict, e.Status);
        Assert.Contains("no STUN servers", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_that_does_not_answer_is_reported_not_thrown()
    {
        // A UDP socket nobody reads: the STUN requests go unanswered until the client gives up.
        using var silent = new System.Net.Sockets.UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var (_, api) = await ApiNodes.StartAsync(_nodes, b => b.Options.StunServers.Add((IPEndPoint)silent.Client.LocalEndPoint!));
        using var client = api;
        var report = await client.NetcheckAsync(testHairpinning: false);
        Assert.False(report.Udp);
        Assert.NotNull(Assert.Single(report.Servers).Error);
    }
}
