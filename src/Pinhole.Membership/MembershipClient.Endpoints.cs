namespace Pinhole.Membership;

public sealed partial class MembershipClient
{
    /// <summary>
    /// Announces this node's addresses (direct, port-mapped, STUN-observed, <c>/p2p/R/p2p-circuit</c>) and NAT type in a
    /// signed endpoint record with a sequence higher than any before (Unix milliseconds, or the last plus one), and
    /// the sealing key if one is set. Published now when a coordinator is connected, and again on every reconnect.
    /// </summary>
    public Task<EndpointRecord> PublishEndpointAsync(IReadOnlyList<Multiaddr> addresses, EndpointNatType natType = EndpointNatType.Unknown, CancellationToken cancellationToken = default) =>
        PublishEndpointAsync(addresses, [], natType, cancellationToken);

    /// <summary>
    /// Announces this node's addresses and, in field 7 (<see cref="EndpointRecord.Tunnel"/>), the UDP endpoints of its
    /// VPN data plane; otherwise as <see cref="PublishEndpointAsync(IReadOnlyList{Multiaddr}, EndpointNatType, CancellationToken)"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A tunnel endpoint is not <c>/ip4|ip6/A/udp/P</c>, or there are more than <see cref="EndpointRecord.MaxTunnelAddresses"/>.</exception>
    public async Task<EndpointRecord> PublishEndpointAsync(IReadOnlyList<Multiaddr> addresses, IReadOnlyList<Multiaddr> tunnel, EndpointNatType natType = EndpointNatType.Unknown, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        ArgumentNullException.ThrowIfNull(tunnel);
        EndpointRecord record;
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            var previous = Math.Max(_ownEndpoint?.Sequence ?? 0, _state.FindEndpoint(LocalPeer)?.Sequence ?? 0);
            var sequence = Math.Max(previous + 1, (ulong)Math.Max(0, now.ToUnixTimeMilliseconds()));
            record = EndpointRecord.Create(_identity, Network, addresses, sequence, natType, _options.SealingKey?.PublicKey ?? default, now, tunnel);
            _ownEndpoint = record;
        }
        AddRecords([record], "self");
        if (_coordinators.Count > 0)
        {
            try
            {
                var client = await GetClientAsync(cancellationToken).ConfigureAwait(false);
                await client.PublishAsync(Network, [record], cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is PeerException or IOException)
            {
                // Offline: the sync loop publishes it when it reconnects.
            }
        }
        return record;
    }

    private async Task RepublishEndpointAsync(CoordinatorClient client, CancellationToken cancellationToken)
    {
        EndpointRecord? own;
        lock (_lock)
        {
            own = _ownEndpoint;
        }
        if (own is null || !IsMember(LocalPeer))
        {
            return;
        }
        try
        {
            await client.PublishAsync(Network, [own], cancellationToken).ConfigureAwait(false);
        }
        catch (MembershipException e) when (e.Reason == MembershipError.Stale)
        {
            // The coordinator holds a newer one (published from another run of this node): fine.
        }
    }
}
