using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Pinhole.Nat;

namespace Pinhole.Node;

public sealed partial class NodePortMappingService
{
    // One port: map, hold until lost, then map again. A loss is retried at once only when it ends a mapping held at
    // least RetryDelay, or is the first in a row (the gateway may have rebooted); otherwise, and after any other
    // failure, the wait is RetryDelay doubled per failure in a row, up to MaxRetryDelay: a gateway that grants
    // a few seconds, or maps but fails every renewal, must not drive a map/lose loop. The mapping is deleted on the way out.
    private async Task RunAsync(Entry entry, CancellationToken stop)
    {
        // Failures in a row (the wait grows with them), and whether the one immediate re-map after a loss was
        // spent; both reset when a mapping had held RetryDelay.
        var streak = 0;
        var spentRetryAtOnce = false;
        while (!stop.IsCancellationRequested)
        {
            var retryAtOnce = false;
            var gateway = _options.Gateway ?? PortMapper.FindDefaultGateway();
            if (gateway is null)
            {
                Fail(entry, null, "no_gateway", "the host has no IPv4 default gateway", RetryWait(++streak));
            }
            else
            {
                PortMapper? mapper = null;
                try
                {
                    mapper = PortMapper.Create(MapperOptions(entry, gateway));
                    var loss = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
                    mapper.Changed += (_, e) => OnChanged(entry, gateway, e, loss);
                    Set(entry, NodePortMappingPhase.Mapping, gateway, null, entry.LastError, null);
                    var mapping = await mapper.MapAsync(stop).ConfigureAwait(false);
                    if (mapping is null)
                    {
                        if (mapper.GatewayLacksPublicAddress)
                        {
                            Fail(entry, gateway, "double_nat", $"the gateway {gateway} has no public address: another NAT is upstream", RetryWait(++streak));
                        }
                        else
                        {
                            Fail(entry, gateway, "no_answer", $"the gateway {gateway} answered none of {_options.Protocols} with a mapping (not offered, refused or silent)", RetryWait(++streak));
                        }
                    }
                    else
                    {
                        var heldFrom = _time.GetTimestamp();
                        var reason = await loss.Task.WaitAsync(stop).ConfigureAwait(false);
                        if (_time.GetElapsedTime(heldFrom) >= _options.RetryDelay)
                        {
                            streak = 0;
                            spentRetryAtOnce = false;
                        }
                        retryAtOnce = !spentRetryAtOnce;
                        spentRetryAtOnce = true;
                        Fail(entry, gateway, "lost", reason, retryAtOnce ? TimeSpan.Zero : RetryWait(++streak));
                    }
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    // Stopping: the finally deletes the mapping.
                }
                catch (Exception e) when (e is PeerException or SocketException or IOException or HttpRequestException or ArgumentException or InvalidOperationException)
                {
                    Fail(entry, gateway, "error", $"asking the gateway {gateway}: {e.Message}", RetryWait(++streak));
                }
                finally
                {
                    if (mapper is not null)
                    {
                        // Deletes a mapping still in force (best effort, bounded); a lost one has nothing to delete.
                        await mapper.DisposeAsync().ConfigureAwait(false);
                    }
                }
            }
            if (stop.IsCancellationRequested)
            {
                break;
            }
            if (!retryAtOnce)
            {
                try
                {
                    await Task.Delay(RetryWait(streak), _time, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
        Set(entry, NodePortMappingPhase.Stopped, entry.Gateway, null, entry.LastError, null);
    }

    /// <summary>The wait after the <paramref name="failuresInARow"/>th failure in a row: RetryDelay, doubled each time, capped.</summary>
    private TimeSpan RetryWait(int failuresInARow)
    {
        var cap = _options.MaxRetryDelay > _options.RetryDelay ? _options.MaxRetryDelay : _options.RetryDelay;
        var wait = _options.RetryDelay;
        for (var i = 1; i < failuresInARow && wait < cap; i++)
        {
            wait *= 2;
        }
        return wait < cap ? wait : cap;
    }

    private PortMapperOptions MapperOptions(Entry entry, IPAddress gateway)
    {
        var options = new PortMapperOptions
        {
            Gateway = gateway,
            LocalAddress = _options.LocalAddress ?? entry.BoundAddress,
            InternalPort = entry.InternalPort,
            Transport = entry.Transport == "udp" ? ProtocolType.Udp : ProtocolType.Tcp,
            Protocols = _options.Protocols,
            Lifetime = _options.Lifetime,
            Description = _options.Description,
            SocketFactory = _options.SocketFactory,
            TimeProvider = _time,
            LoggerFactory = _node!.Options.LoggerFactory,
        };
        _options.ConfigureMapper?.Invoke(options);
        return options;
    }

    private void OnChanged(Entry entry, IPAddress gateway, PortMappingChangedEventArgs e, TaskCompletionSource<string> lost)
    {
        var protocol = e.Mapping?.Protocol.ToString() ?? entry.Mapping?.Protocol.ToString() ?? "none";
        _changes?.Add(1, new KeyValuePair<string, object?>("protocol", protocol), new KeyValuePair<string, object?>("change", e.Change.ToString().ToLowerInvariant()), new KeyValuePair<string, object?>("transport", entry.Transport));
        switch (e.Change)
        {
            case PortMappingChange.Lost:
                lost.TrySetResult($"the {protocol} mapping was lost: {e.Reason ?? "renewal failed"}");
                break;
            case PortMappingChange.Deleted:
                Set(entry, NodePortMappingPhase.Stopped, gateway, null, entry.LastError, e.Change);
                NodePortMappingLog.Deleted(_logger, entry.Transport, entry.InternalPort, protocol);
                break;
            default:
                var mapping = e.Mapping!;
                Set(entry, NodePortMappingPhase.Mapped, gateway, mapping, null, e.Change);
                if (e.Change != PortMappingChange.Renewed)
                {
                    NodePortMappingLog.Mapped(_logger, entry.Transport, entry.InternalPort, mapping.External, protocol, e.Change);
                }
                if (mapping.BehindAnotherNat)
                {
                    NodePortMappingLog.BehindAnotherNat(_logger, mapping.External);
                }
                break;
        }
    }

    private void Fail(Entry entry, IPAddress? gateway, string reason, string message, TimeSpan retryIn)
    {
        _failures?.Add(1, new KeyValuePair<string, object?>("reason", reason), new KeyValuePair<string, object?>("transport", entry.Transport));
        lock (_lock)
        {
            entry.Failures++;
        }
        Set(entry, NodePortMappingPhase.Failed, gateway, null, message, null);
        NodePortMappingLog.Failed(_logger, entry.Transport, entry.InternalPort, message, retryIn);
    }

    private void Set(Entry entry, NodePortMappingPhase phase, IPAddress? gateway, PortMapping? mapping, string? error, PortMappingChange? change)
    {
        NodePortMappingState state;
        lock (_lock)
        {
            if (entry.Phase != phase)
            {
                entry.Since = _time.GetUtcNow();
            }
            entry.Phase = phase;
            entry.Gateway = gateway;
            entry.Mapping = mapping;
            entry.LastError = error;
            state = entry.Snapshot();
        }
        Changed?.Invoke(this, new NodePortMappingEventArgs(state, change));
        AddressesChanged?.Invoke(this, EventArgs.Empty);
    }

    private sealed class Entry(string transport, int internalPort, IPAddress? boundAddress)
    {
        public string Transport { get; } = transport;

        public int InternalPort { get; } = internalPort;

        public IPAddress? BoundAddress { get; } = boundAddress;

        public NodePortMappingPhase Phase { get; set; } = NodePortMappingPhase.Mapping;

        public IPAddress? Gateway { get; set; }

        public PortMapping? Mapping { get; set; }

        public string? LastError { get; set; }

        public int Failures { get; set; }

        public DateTimeOffset Since { get; set; }

        public NodePortMappingState Snapshot() => new(Transport, InternalPort, Phase, Gateway, Mapping, LastError, Failures, Since);
    }
}

internal static partial class NodePortMappingLog
{
    [LoggerMessage(EventId = 9200, Level = LogLevel.Information, Message = "Port mapping: {Transport} port {Port} is reachable at {External} ({Protocol}, {Change})")]
    public static partial void Mapped(ILogger logger, string transport, int port, IPEndPoint external, string protocol, PortMappingChange change);

    [LoggerMessage(EventId = 9201, Level = LogLevel.Warning, Message = "Port mapping: {Transport} port {Port} is not mapped: {Reason}; trying again in {RetryDelay}")]
    public static partial void Failed(ILogger logger, string transport, int port, string reason, TimeSpan retryDelay);

    [LoggerMessage(EventId = 9202, Level = LogLevel.Information, Message = "Port mapping: {Transport} port {Port} ({Protocol}) deleted")]
    public static partial void Deleted(ILogger logger, string transport, int port, string protocol);

    [LoggerMessage(EventId = 9203, Level = LogLevel.Warning, Message = "Port mapping: the gateway's public address {External} is private or CGNAT (another NAT is upstream); not advertised")]
    public static partial void BehindAnotherNat(ILogger logger, IPEndPoint external);

    [LoggerMessage(EventId = 9204, Level = LogLevel.Warning, Message = "Port mapping: nothing to map (no IPv4 listen address other than loopback among {Addresses})")]
    public static partial void NothingToMap(ILogger logger, string addresses);
}
