namespace Pinhole.Node;

// The signed endpoint record follows the node's dialable addresses: a port mapping or a relay reservation made after
// start reaches the members, not only identify.
public sealed partial class NetworkMembershipService
{
    /// <summary>How long address changes settle before the endpoint record is signed again (one record per burst).</summary>
    internal static readonly TimeSpan RepublishDelay = TimeSpan.FromSeconds(1);

    private readonly Lock _addressLock = new();
    private List<INodeAddressSource> _addressSources = [];
    private ITimer? _republishTimer;
    private HashSet<Multiaddr> _published = [];

    private void WatchAddresses(PinholeNode node, IReadOnlyList<Multiaddr> published)
    {
        _published = [.. published];
        _addressSources = [.. node.Services.OfType<INodeAddressSource>()];
        foreach (var source in _addressSources)
        {
            source.AddressesChanged += OnAddressesChanged;
        }
    }

    private void UnwatchAddresses()
    {
        foreach (var source in _addressSources)
        {
            source.AddressesChanged -= OnAddressesChanged;
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
        if (_published.SetEquals(addresses))
        {
            return;
        }
        await _client!.PublishEndpointAsync(addresses, _options.NatType, _stopping.Token).ConfigureAwait(false);
        _published = [.. addresses];
        NetworkLog.Republished(_logger, Network, addresses.Count);
    }
}
