using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Pinhole.Core.Tests.Support;

/// <summary>The lab primitives every namespace test builds on: isolation, the guard, sockets made inside.</summary>
[Trait("Category", "Netns")]
public class NetworkNamespaceTests
{
    [NetnsFact("ping")]
    public async Task Two_namespaces_joined_by_veth_reach_each_other_and_nothing_else()
    {
        await using var a = await NetworkNamespace.CreateAsync("a");
        await using var b = await NetworkNamespace.CreateAsync("b");
        await NetworkNamespace.ConnectAsync(a, "eth0", b, "eth0");
        await a.AddAddressAsync("eth0", "10.99.0.1/24");
        await b.AddAddressAsync("eth0", "10.99.0.2/24");
        // b would answer 192.168.77.2, but that range is outside the guard's prefixes: a's packets must be dropped.
        await b.AddAddressAsync("eth0", "192.168.77.2/24");
        await a.ExecAsync("ip", "route", "add", "192.168.77.0/24", "via", "10.99.0.2");

        var reachable = await a.TryExecAsync("ping", "-c", "1", "-W", "2", "10.99.0.2");
        var guarded = await a.TryExecAsync("ping", "-c", "1", "-W", "1", "192.168.77.2");

        Assert.True(reachable.ExitCode == 0, reachable.ToString());
        Assert.NotEqual(0, guarded.ExitCode);
        Assert.Contains("100% packet loss", guarded.StandardOutput, StringComparison.Ordinal);
    }

    [NetnsFact]
    public async Task Sockets_created_inside_a_namespace_stay_there()
    {
        await using var a = await NetworkNamespace.CreateAsync("a");
        await using var b = await NetworkNamespace.CreateAsync("b");
        await NetworkNamespace.ConnectAsync(a, "eth0", b, "eth0");
        await a.AddAddressAsync("eth0", "10.99.1.1/24");
        await b.AddAddressAsync("eth0", "10.99.1.2/24");
        using var receiver = b.CreateSocket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        receiver.Bind(new IPEndPoint(IPAddress.Parse("10.99.1.2"), 0)); // exists only inside b
        using var sender = a.CreateSocket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));

        var buffer = new byte[64];
        var receive = receiver.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0), timeout.Token);
        await sender.SendToAsync("hello"u8.ToArray(), receiver.LocalEndPoint!, timeout.Token);
        var result = await receive;

        Assert.Equal("hello", Encoding.ASCII.GetString(buffer, 0, result.ReceivedBytes));
        Assert.Equal(IPAddress.Parse("10.99.1.1"), ((IPEndPoint)result.RemoteEndPoint).Address);
    }
}
