using System.Net;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Pinhole.Nat;

namespace Pinhole.Node.Tests;

/// <summary>
/// The node's port mapping without a gateway that answers (on loopback): failures are counted, shown in status and
/// retried, never fatal, and nothing is advertised. The mapping itself is tested against miniupnpd in
/// <see cref="NodePortMappingLabTests"/>.
/// </summary>
public sealed class NodePortMappingTests : IAsyncLifetime
{
    private readonly TestNodes _nodes = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _nodes.DisposeAsync();

    // Nobody answers NAT-PMP/PCP on 127.0.0.1:5351 (the lab's miniupnpd runs in namespaces); one send each, so a
    // failure comes fast. What it does not get is an answer; no timing decides the outcome.
    private static NodePortMappingOptions Silent(TimeSpan retry) => new()
    {
        Gateway = IPAddress.Loopback,
        LocalAddress = IPAddress.Loopback,
        Protocols = PortMappingProtocols.Pcp | PortMappingProtocols.NatPmp,
        RetryDelay = retry,
        ConfigureMapper = m =>
        {
            m.MaxSends = 1;
            m.InitialRetransmitTimeout = TimeSpan.FromMilliseconds(100);
        },
    };

    private async Task<PinholeNode> StartOnWildcardAsync(NodePortMappingOptions options, Action<PinholeNodeOptions>? configure = null)
    {
        var node = _nodes.Build(b =>
        {
            b.Options.ListenAddresses.Clear();
            b.Options.ListenAddresses.Add(Multiaddr.Parse("/ip4/0.0.0.0/tcp/0"));
            configure?.Invoke(b.Options);
            b.UsePortMapping(options);
        });
        await node.StartAsync();
        return node;
    }

    [Fact]
    public async Task A_silent_gateway_is_a_counted_failure_shown_in_status_and_the_node_keeps_running()
    {
        using var meters = new TestMeterFactory();
        using var collector = new MetricCollector<long>(meters, NodePortMappingService.MeterName, "pinhole.port_mapping.failures");
        var node = await StartOnWildcardAsync(Silent(TimeSpan.FromHours(1)), o =>
        {
            o.EnableUdp = false;
            o.MeterFactory = meters;
        });
        var service = node.GetService<NodePortMappingService>()!;
        await TestNodes.UntilAsync(() => service.Mappings.Any(m => m.Phase == NodePortMappingPhase.Failed), "the attempt fails");

        var state = Assert.Single(service.Mappings);
        Assert.Equal("tcp", state.Transport);
        Assert.Equal(node.ListenAddresses[0].ToIPEndPoint().Port, state.InternalPort);
        Assert.Equal(1, state.Failures);
        Assert.Null(state.Mapping);
        Assert.Contains("127.0.0.1", state.LastError, StringComparison.Ordinal);
        Assert.Equal(NodeState.Running, node.State);
        Assert.Empty(service.GetAddresses());

        var status = node.GetStatus().Services["portmapping"]!["mappings"]![0]!;
        Assert.Equal("failed", status["state"]!.GetValue<string>());
        Assert.Equal(1, status["failures"]!.GetValue<int>());
        Assert.Equal("127.0.0.1", status["gateway"]!.GetValue<string>());
        Assert.False(status["advertised"]!.GetValue<bool>());
        Assert.Null(status["protocol"]);

        var failure = Assert.Single(collector.GetMeasurementSnapshot());
        Assert.Equal(1, failure.Value);
        Assert.Equal("tcp", failure.Tags["transport"]);
        Assert.Contains(failure.Tags["reason"], new object[] { "no_answer", "error" });
    }

    [Fact]
    public async Task A_failed_attempt_is_retried_after_the_retry_delay_on_the_clock()
    {
        // The retry delay runs on the service's clock; the mapper's retransmissions on the real one would also run
        // on it, so the clock here only holds the retry: the test releases it step by step.
        var clock = new HeldTimers();
        var options = Silent(TimeSpan.FromMinutes(5));
        options.TimeProvider = clock;
        var node = await StartOnWildcardAsync(options, o => o.EnableUdp = false);
        var service = node.GetService<NodePortMappingService>()!;
        await TestNodes.UntilAsync(() => service.Mappings.Single().Failures == 1 && clock.PendingHeld == 1, "the first attempt fails and a retry is armed");
        Assert.Equal(TimeSpan.FromMinutes(5), clock.LastHeldDelay);
        Assert.Equal(1, service.Mappings.Single().Failures);

        clock.FireHeld();
        await TestNodes.UntilAsync(() => service.Mappings.Single().Failures == 2 && clock.PendingHeld == 1, "the retry runs, fails, and arms the next");
    }

    [Fact]
    public async Task Failures_in_a_row_double_the_retry_delay_up_to_its_cap()
    {
        var clock = new HeldTimers();
        var options = Silent(TimeSpan.FromMinutes(5));
        options.MaxRetryDelay = TimeSpan.FromMinutes(15);
        options.TimeProvider = clock;
        var node = await StartOnWildcardAsync(options, o => o.EnableUdp = false);
        var service = node.GetService<NodePortMappingService>()!;
        TimeSpan[] expected = [TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(15)];
        for (var failures = 1; failures <= expected.Length; failures++)
        {
            if (failures > 1)
            {
                clock.FireHeld();
            }
            await TestNodes.UntilAsync(() => service.Mappings.Single().Failures == failures && clock.PendingHeld == 1, $"attempt {failures} fails and arms the next");
            Assert.Equal(expected[failures - 1], clock.LastHeldDelay);
        }
    }

    [Fact]
    public async Task A_node_that_listens_on_loopback_only_has_nothing_to_map()
    {
        var node = await _nodes.StartAsync(b => b.UsePortMapping(Silent(TimeSpan.FromHours(1))));
        var service = node.GetService<NodePortMappingService>()!;
        Assert.Empty(service.Mappings);
        Assert.Empty(node.GetStatus().Services["portmapping"]!["mappings"]!.AsArray());
    }

    [Fact]
    public async Task Udp_is_mapped_too_unless_turned_off()
    {
        var both = await StartOnWildcardAsync(Silent(TimeSpan.FromHours(1)));
        Assert.Equal(["tcp", "udp"], both.GetService<NodePortMappingService>()!.Mappings.Select(m => m.Transport).Order());
        var options = Silent(TimeSpan.FromHours(1));
        options.MapUdp = false;
        var tcpOnly = await StartOnWildcardAsync(options);
        Assert.Equal(["tcp"], tcpOnly.GetService<NodePortMappingService>()!.Mappings.Select(m => m.Transport));
    }

    [Fact]
    public void Options_are_validated_when_added()
    {
        var builder = PinholeNode.CreateBuilder(TestNodes.Options(_nodes.NewIdentity()));
        Assert.Throws<ArgumentException>(() => builder.UsePortMapping(new NodePortMappingOptions { Gateway = IPAddress.IPv6Loopback }));
        Assert.Throws<ArgumentException>(() => builder.UsePortMapping(new NodePortMappingOptions { LocalAddress = IPAddress.IPv6Loopback }));
        Assert.Throws<ArgumentException>(() => builder.UsePortMapping(new NodePortMappingOptions { Protocols = PortMappingProtocols.None }));
        Assert.Throws<ArgumentOutOfRangeException>(() => builder.UsePortMapping(new NodePortMappingOptions { Lifetime = TimeSpan.FromSeconds(5) }));
        Assert.Throws<ArgumentOutOfRangeException>(() => builder.UsePortMapping(new NodePortMappingOptions { RetryDelay = TimeSpan.Zero }));
        Assert.Throws<ArgumentOutOfRangeException>(() => builder.UsePortMapping(new NodePortMappingOptions { MaxRetryDelay = TimeSpan.Zero }));
    }
}
