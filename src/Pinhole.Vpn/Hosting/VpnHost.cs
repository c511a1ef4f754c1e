using System.Text.Json.Nodes;
using Pinhole.Node;

namespace Pinhole.Vpn.Hosting;

/// <summary>
/// The daemon's VPN slot (service <c>vpn</c>): at most one <see cref="VpnNodeService"/>, started with the node
/// (<c>pinhole daemon --vpn FILE</c> / <c>--vpn-network NET</c>) or later over the local API
/// (<c>POST /v1/vpn</c>, which <c>pinhole vpn up --network NET</c> calls) and stopped by <c>DELETE /v1/vpn/{network}</c>
/// (<c>pinhole vpn down --network NET</c>). The node stays the composition root: this service is registered when it is
/// built, with the relay protocol's handler and its tunnel addresses, and forwards them to whichever VPN runs.
/// </summary>
public sealed class VpnHost : INodeService, INodeTunnelSource, IAsyncDisposable
{
    private readonly VpnNodeServiceOptions? _initial;
    private readonly Func<string, CancellationToken, Task<VpnNodeServiceOptions>> _load;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private PinholeNode? _node;
    private VpnNodeService? _running;
    private string? _network;

    /// <summary>Creates the slot.</summary>
    /// <param name="initial">The VPN to start with the node, or null for none.</param>
    /// <param name="load">Resolves a network (id or name, as <c>pinhole network ls</c> shows them) to the options of its VPN;
    /// throws <see cref="FormatException"/> (not joined, ambiguous) or <c>MembershipException</c> (revoked, no address).</param>
    public VpnHost(VpnNodeServiceOptions? initial, Func<string, CancellationToken, Task<VpnNodeServiceOptions>> load)
    {
        ArgumentNullException.ThrowIfNull(load);
        _initial = initial;
        _load = load;
    }

    /// <inheritdoc />
    public string Name => "vpn";

    /// <summary>The running VPN, or null.</summary>
    public VpnNodeService? Running => Volatile.Read(ref _running);

    /// <inheritdoc />
    public event EventHandler? TunnelAddressesChanged;

    /// <inheritdoc />
    public IReadOnlyList<Multiaddr> GetTunnelAddresses(Membership.NetworkId network) => Running?.GetTunnelAddresses(network) ?? [];

    /// <inheritdoc />
    public async Task StartAsync(PinholeNode node, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(node);
        _node = node;
        if (_initial is not null)
        {
            await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await StartLockedAsync(_initial, null, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _gate.Release();
            }
        }
    }

    /// <summary>
    /// Brings the VPN of <paramref name="network"/> up; true if it started, false if it was already up. One VPN at a time.
    /// </summary>
    /// <exception cref="InvalidOperationException">The node has not started, or a VPN for another network (or a file) runs.</exception>
    /// <exception cref="FormatException">The network is not one this node joined, or its name is ambiguous.</exception>
    /// <exception cref="PeerException">The interface could not start (no privilege, port taken, …); the reason is in it.</exception>
    public async Task<bool> UpAsync(string network, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(network);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_node is null)
            {
                throw new InvalidOperationException("The node is not running.");
            }
            VpnNodeServiceOptions options = await _load(network.Trim(), cancellationToken).ConfigureAwait(false);
            if (_running is { } running)
            {
                if (running.Network is { } id && id.Equals(options.Network))
                {
                    return false;
                }
                throw new InvalidOperationException($"The VPN already runs for {RunningText()}: take it down first (pinhole vpn down --network {_network ?? "NET"}).");
            }
            options.Interface.LoggerFactory ??= _node.Options.LoggerFactory;
            await StartLockedAsync(options, network.Trim(), cancellationToken).ConfigureAwait(false);
            return true;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Takes the VPN of <paramref name="network"/> (id or name) down; false if no VPN of that network runs.</summary>
    public async Task<bool> DownAsync(string network, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(network);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_running is not { Network: { } id } running || (id.ToString() != network.Trim() && _network != network.Trim() && NameOf(running) != network.Trim()))
            {
                return false;
            }
            await StopLockedAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The running VPN as the local API shows it: <c>{"running": false}</c>, or its network, name and interface status.</summary>
    public JsonObject Describe(bool started = false)
    {
        if (Running is not { Interface: { } vpn } running)
        {
            return new JsonObject { ["running"] = false };
        }
        return new JsonObject
        {
            ["running"] = true,
            ["started"] = started,
            ["network"] = running.Network?.ToString(),
            ["name"] = NameOf(running),
            ["status"] = JsonNode.Parse(VpnStatusJson.Serialize(vpn.GetStatus())),
        };
    }

    private string RunningText() => Running is { } r ? (r.Network is { } id ? $"network {NameOf(r) ?? id.ToString()} ({id})" : "a configuration file") : "nothing";

    private string? NameOf(VpnNodeService running) => running.Network is { } id ? _node?.GetNetwork(id)?.Client?.View.Name : null;

    private async Task StartLockedAsync(VpnNodeServiceOptions options, string? network, CancellationToken cancellationToken)
    {
        var service = new VpnNodeService(options);
        service.TunnelAddressesChanged += OnTunnelChanged;
        try
        {
            await service.StartAsync(_node!, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            service.TunnelAddressesChanged -= OnTunnelChanged;
            throw;
        }
        Volatile.Write(ref _running, service);
        _network = network;
        TunnelAddressesChanged?.Invoke(this, EventArgs.Empty);
    }

    private async Task StopLockedAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _running, null) is not { } running)
        {
            return;
        }
        _network = null;
        try
        {
            await running.StopAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            running.TunnelAddressesChanged -= OnTunnelChanged;
            TunnelAddressesChanged?.Invoke(this, EventArgs.Empty);
        }
    }

    private void OnTunnelChanged(object? sender, EventArgs e) => TunnelAddressesChanged?.Invoke(this, EventArgs.Empty);

    /// <summary>The node's handler for <see cref="VpnNodeService.RelayProtocol"/>: refused (closed) while no VPN runs.</summary>
    public async Task HandleRelayAsync(PeerConnection connection, PeerStream stream, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (Running is { } running)
        {
            await running.HandleRelayAsync(connection, stream, cancellationToken).ConfigureAwait(false);
            return;
        }
        await stream.DisposeAsync().ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await StopLockedAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public JsonObject? GetStatus() => Running?.GetStatus();

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _gate.Dispose();
    }
}
