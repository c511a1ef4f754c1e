using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pinhole.Nat;

namespace Pinhole.Node;

/// <summary>
/// The node's port mapping (added by <see cref="NodePortMappingExtensions.UsePortMapping"/>): for each IPv4 port the
/// node listens on (TCP, and UDP when <see cref="NodePortMappingOptions.MapUdp"/>), a <see cref="PortMapper"/> asks
/// the gateway with PCP, NAT-PMP or UPnP IGD; the lease is renewed at half-life and made again after a gateway reset.
/// The public address is advertised (<see cref="INodeAddressSource"/>) unless it is itself private (double NAT). No
/// gateway, a refusal or a lost mapping is logged, counted and shown in status, and tried again after
/// <see cref="NodePortMappingOptions.RetryDelay"/>; none of them stops the node. Stopping deletes every mapping.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The node stops its services: StopAsync cancels the stop source (it has no timer) and disposes the meter it owns.")]
public sealed partial class NodePortMappingService : INodeService, INodeAddressSource
{
    /// <summary>The meter of this service's instruments.</summary>
    public const string MeterName = "Pinhole.Node.PortMapping";

    private readonly NodePortMappingOptions _options;
    private readonly Lock _lock = new();
    private readonly List<Entry> _entries = [];
    private readonly List<Task> _loops = [];
    private readonly CancellationTokenSource _stop = new();
    private PinholeNode? _node;
    private TimeProvider _time = TimeProvider.System;
    private ILogger _logger = NullLogger.Instance;
    private Meter? _meter;
    private bool _ownsMeter;
    private Counter<long>? _failures;
    private Counter<long>? _changes;

    internal NodePortMappingService(NodePortMappingOptions options) => _options = options;

    /// <inheritdoc/>
    public string Name => "portmapping";

    /// <summary>The gateway configured (<see cref="NodePortMappingOptions.Gateway"/>), or null for the default gateway.</summary>
    public IPAddress? Gateway => _options.Gateway;

    /// <summary>Raised whenever a mapping's state changes (made, renewed, moved, failed, lost, deleted).</summary>
    public event EventHandler<NodePortMappingEventArgs>? Changed;

    /// <summary>Each mapped port's state now.</summary>
    public IReadOnlyList<NodePortMappingState> Mappings
    {
        get
        {
            lock (_lock)
            {
                return [.. _entries.Select(e => e.Snapshot())];
            }
        }
    }

    /// <inheritdoc/>
    public IReadOnlyList<Multiaddr> GetAddresses()
    {
        if (_node is not { } node)
        {
            return [];
        }
        var addresses = new List<Multiaddr>();
        lock (_lock)
        {
            foreach (var entry in _entries)
            {
                if (entry.Phase == NodePortMappingPhase.Mapped && entry.Mapping is { BehindAnotherNat: false } mapping)
                {
                    addresses.Add(Multiaddr.FromIPEndPoint(mapping.External, entry.Transport).Encapsulate(node.LocalPeer));
                }
            }
        }
        return addresses;
    }

    /// <inheritdoc/>
    public Task StartAsync(PinholeNode node, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(node);
        _node = node;
        _time = _options.TimeProvider ?? node.Options.TimeProvider;
        _logger = node.Options.LoggerFactory.CreateLogger<NodePortMappingService>();
        // A factory's meters are the factory's to dispose (a DI factory caches them by name).
        _ownsMeter = node.Options.MeterFactory is null;
        _meter = node.Options.MeterFactory?.Create(new MeterOptions(MeterName)) ?? new Meter(MeterName);
        _failures = _meter.CreateCounter<long>("pinhole.port_mapping.failures", "{failure}", "Port mapping attempts that failed or mappings lost, by reason (no_gateway, no_answer, double_nat, lost, error).");
        _changes = _meter.CreateCounter<long>("pinhole.port_mapping.changes", "{change}", "Mappings made, renewed, moved, recreated, lost or deleted, by protocol and change.");
        _meter.CreateObservableUpDownCounter("pinhole.port_mappings", () => (long)Mappings.Count(m => m.Phase == NodePortMappingPhase.Mapped), "{mapping}", "Mappings in force.");
        var seen = new HashSet<(string, int)>();
        foreach (var address in node.ListenAddresses)
        {
            if (!address.TryGetIPEndPoint(out var endPoint, out var transport)
                || endPoint.AddressFamily != AddressFamily.InterNetwork
                || IPAddress.IsLoopback(endPoint.Address)
                || (transport == "udp" && !_options.MapUdp)
                || !seen.Add((transport, endPoint.Port)))
            {
                continue;
            }
            var entry = new Entry(transport, endPoint.Port, endPoint.Address.Equals(IPAddress.Any) ? null : endPoint.Address);
            lock (_lock)
            {
                _entries.Add(entry);
            }
            _loops.Add(Task.Run(() => RunAsync(entry, _stop.Token), CancellationToken.None));
        }
        if (_entries.Count == 0)
        {
            NodePortMappingLog.NothingToMap(_logger, string.Join(", ", node.ListenAddresses));
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        // Each loop deletes its mapping on the way out (bounded by PortMapper's own 5 s).
        await Task.WhenAll(_loops).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (_ownsMeter)
        {
            _meter?.Dispose();
        }
    }

    /// <inheritdoc/>
    public JsonObject? GetStatus()
    {
        var mappings = new JsonArray();
        foreach (var m in Mappings)
        {
            mappings.Add(new JsonObject
            {
                ["transport"] = m.Transport,
                ["internalPort"] = m.InternalPort,
                ["state"] = m.Phase.ToString().ToLowerInvariant(),
                ["gateway"] = m.Gateway?.ToString(),
                ["protocol"] = m.Mapping?.Protocol.ToString(),
                ["external"] = m.Mapping?.External.ToString(),
                ["advertised"] = m.Phase == NodePortMappingPhase.Mapped && m.Mapping is { BehindAnotherNat: false },
                ["behindAnotherNat"] = m.Mapping?.BehindAnotherNat,
                ["lifetimeSeconds"] = m.Mapping is { } lease ? (long)lease.Lifetime.TotalSeconds : null,
                ["expires"] = m.Mapping?.Lifetime > TimeSpan.Zero ? m.Mapping.Expires.ToString("O", System.Globalization.CultureInfo.InvariantCulture) : null,
                ["failures"] = m.Failures,
                ["lastError"] = m.LastError,
                ["since"] = m.Since.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
            });
        }
        return new JsonObject { ["mappings"] = mappings };
    }
}

/// <summary>Where a node's port mapping stands.</summary>
public enum NodePortMappingPhase
{
    /// <summary>Asking the gateway.</summary>
    Mapping,
    /// <summary>The gateway forwards the port (<see cref="NodePortMappingState.Mapping"/>).</summary>
    Mapped,
    /// <summary>No gateway, no answer, a refusal, or the mapping was lost; tried again after the retry delay (<see cref="NodePortMappingState.LastError"/>).</summary>
    Failed,
    /// <summary>The node stopped; the mapping was deleted.</summary>
    Stopped,
}

/// <summary>One mapped port of a node.</summary>
/// <param name="Transport"><c>tcp</c> or <c>udp</c>.</param>
/// <param name="InternalPort">The node's port.</param>
/// <param name="Phase">Where it stands.</param>
/// <param name="Gateway">The gateway asked last.</param>
/// <param name="Mapping">The mapping in force (with its protocol and public address), or null.</param>
/// <param name="LastError">Why the last attempt failed or the mapping was lost, or null.</param>
/// <param name="Failures">Failed attempts and losses so far.</param>
/// <param name="Since">When it entered this phase.</param>
public sealed record NodePortMappingState(string Transport, int InternalPort, NodePortMappingPhase Phase, IPAddress? Gateway, PortMapping? Mapping, string? LastError, int Failures, DateTimeOffset Since);

/// <summary>Event data of <see cref="NodePortMappingService.Changed"/>.</summary>
public sealed class NodePortMappingEventArgs(NodePortMappingState state, PortMappingChange? change) : EventArgs
{
    /// <summary>The port's state after the change.</summary>
    public NodePortMappingState State { get; } = state;

    /// <summary>What the gateway did (null for a failed attempt or a phase change of our own).</summary>
    public PortMappingChange? Change { get; } = change;
}
