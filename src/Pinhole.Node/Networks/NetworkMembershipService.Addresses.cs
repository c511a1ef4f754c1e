namespace Pinhole.Node;

// The signed endpoint record follows the node's dialable addresses: a port mapping or a relay reservation made after
// start reaches the members, not only identify. It carries the VPN data plane's endpoints too (field 7, from the node's
// INodeTunnelSource services): this service is the record's one writer, so no other part can overwrite its addresses.
public sealed partial class NetworkMembershipService
{
    /// <summary>How long address changes settle before the endpoint record is signed again (one record per burst).</summary>
    internal static readonly TimeSpan RepublishDelay = TimeSpan.FromSeconds(1);

    private readonly Lock _addressLock = new();
    private List<INodeAddressSource> _addressSources = [];
    private List<INodeTunnelSource> _tunnelSources = [];
    private ITimer? _republishTimer;
    private HashSet<Multiaddr> _published = [];
    private List<Multiaddr> _publishedTunnel = [];

    private void WatchAddresses(PinholeNode node, IReadOnlyList<Multiaddr> published, IReadOnlyList<Multiaddr> tunnel)
    {
        _published = [.. published];
        _publishedTunnel = [.. tunnel];
        _addressSources = [.. node.Services.OfType<INodeAddressSource>()];
        _tunnelSources = [.. node.Services.OfType<INodeTunnelSource>()];
        foreach (var source in _addressSources)
        {
            source.AddressesChanged += OnAddressesChanged;
        }
        foreach (var source in _tunnelSources)
        {
            source.TunnelAddressesChanged += OnAddressesChanged;
        }
    }

    // The VPN data plane's endpoints for this network, first ones first, capped at what field 7 holds.
    private List<Multiaddr> TunnelAddresses(PinholeNode node) =>
        [.. node.Services.OfType<INodeTunnelSource>().SelectMany(s => s.GetTunnelAddresses(Network)).Distinct().Take(Membership.EndpointRecord.MaxTunnelAddresses)];

    private void UnwatchAddresses()
    {
        foreach (var source in _addressSources)
        {
            source.AddressesChanged -= OnAddressesChanged;
        }
        foreach (var source in _tunnelSources)
        {
            source.TunnelAddressesChanged -= OnAddressesChanged;
        }
        lock (_addressLock)
        {
            _republishTimer?.Dispose();
            _republishTimer = null;
        }
    }

    // Debounced on the node's TimeProvider: the timer is (re)armed on each change and fires once it settles.
    private void OnAddressesChanged(object? sender, EventArgs e)
    {
        lock (_addressLock)
        {
            if (_stopping.IsCancellationRequested)
            {
                return;
            }
            _republishTimer ??= _node!.Options.TimeProvider.CreateTimer(_ => _work.Writer.TryWrite(RepublishIfChangedAsync), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _republishTimer.Change(RepublishDelay, Timeout.InfiniteTimeSpan);
        }
    }

    private async Task RepublishIfChangedAsync()
    {
        var addresses = _node!.GetDialableAddresses();
        var tunnel = TunnelAddresses(_node);
        if (_published.SetEquals(addresses) && _publishedTunnel.SequenceEqual(tunnel))
        {
            return;
        }
        await _client!.PublishEndpointAsync(addresses, tunnel, _options.NatType, _stopping.Token).ConfigureAwait(false);
        _published = [.. addresses];
        _publishedTunnel = tunnel;
        NetworkLog.Republished(_logger, Network, addresses.Count);
    }
}
