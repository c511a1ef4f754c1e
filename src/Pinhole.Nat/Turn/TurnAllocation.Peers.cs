using System.Buffers;
using System.Collections.Concurrent;
using System.Net;

namespace Pinhole.Nat;

public sealed partial class TurnAllocation
{
    // Permissions are per IP address (RFC 8656 §9): the server drops anything from an address without one.
    private readonly ConcurrentDictionary<IPAddress, IPEndPoint> _permissions = new();
    private readonly ConcurrentDictionary<IPEndPoint, ushort> _channelByPeer = new();
    private readonly ConcurrentDictionary<ushort, TurnPeerEndPoint> _peerByChannel = new();
    private readonly SemaphoreSlim _channelLock = new(1, 1);
    private int _nextChannel = TurnChannelData.MinChannel;

    /// <summary>Peers with a permission.</summary>
    public IReadOnlyCollection<IPAddress> Permissions => [.. _permissions.Keys];

    /// <summary>
    /// Lets <paramref name="peers"/>' IP addresses send to the relayed address (CreatePermission; kept up by
    /// the refresh timer until the allocation ends).
    /// </summary>
    /// <exception cref="TurnException">The server refused (403: a peer address it forbids).</exception>
    public async Task CreatePermissionAsync(IEnumerable<IPEndPoint> peers, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(peers);
        IPEndPoint[] list = [.. peers.Select(p => Normalize(p ?? throw new ArgumentException("A peer is null.", nameof(peers))))];
        if (list.Length == 0)
        {
            return;
        }
        ThrowIfNotActive();
        int fresh = list.Select(p => p.Address).Distinct().Count(a => !_permissions.ContainsKey(a));
        if (_permissions.Count + fresh > _options.MaxPermissions)
        {
            throw new TurnException(PeerError.LimitExceeded, null, $"At most {_options.MaxPermissions} TURN permissions (TurnClientOptions.MaxPermissions).");
        }
        await InstallPermissionsAsync(list, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Lets <paramref name="peer"/>'s IP address send to the relayed address.</summary>
    public Task CreatePermissionAsync(IPEndPoint peer, CancellationToken cancellationToken = default) =>
        CreatePermissionAsync([peer ?? throw new ArgumentNullException(nameof(peer))], cancellationToken);

    /// <summary>
    /// Binds a channel to <paramref name="peer"/> (which also installs its permission), so that data goes as
    /// 4-byte-header ChannelData instead of 36-byte-overhead Send/Data indications. Returns the peer's end
    /// point; binding an already bound peer refreshes it.
    /// </summary>
    /// <exception cref="TurnException">The server refused, or every channel is in use.</exception>
    public async Task<TurnPeerEndPoint> BindChannelAsync(IPEndPoint peer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(peer);
        peer = Normalize(peer);
        ThrowIfNotActive();
        TurnPeerEndPoint endPoint = GetPeerEndPoint(peer);
        await _channelLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        ushort channel;
        try
        {
            if (!_channelByPeer.TryGetValue(peer, out channel))
            {
                if (_channelByPeer.Count >= _options.MaxChannels || _nextChannel > TurnChannelData.MaxChannel)
                {
                    throw new TurnException(PeerError.LimitExceeded, null, $"No TURN channel left on {Server} ({_channelByPeer.Count} bound).");
                }
                channel = (ushort)_nextChannel++;
            }
            await SendChannelBindAsync(channel, peer, cancellationToken).ConfigureAwait(false);
            _channelByPeer[peer] = channel;
            _peerByChannel[channel] = endPoint;
            _permissions[peer.Address] = peer;
        }
        finally
        {
            _channelLock.Release();
        }
        TurnLog.ChannelBound(_logger, Server, channel, peer);
        return endPoint;
    }

    /// <summary>The routed end point for <paramref name="peer"/> on this allocation (one per peer; nothing is sent).</summary>
    public TurnPeerEndPoint GetPeerEndPoint(IPEndPoint peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        peer = Normalize(peer);
        return _peers.GetOrAdd(peer, static (p, self) => new TurnPeerEndPoint(self, p), this);
    }

    /// <summary>
    /// Sends <paramref name="data"/> to <paramref name="peer"/> through the relay: ChannelData on a bound channel,
    /// else a Send indication. Best effort, like UDP; the peer needs a permission (the server drops it otherwise),
    /// and nothing is sent once the allocation is lost or disposed.
    /// </summary>
    public async ValueTask SendAsync(IPEndPoint peer, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(peer);
        if (!IsActive)
        {
            Interlocked.Increment(ref _dropped);
            return;
        }
        if (_channelByPeer.TryGetValue(peer, out ushort channel))
        {
            byte[] buffer = ArrayPool<byte>.Shared.Rent(TurnChannelData.HeaderLength + data.Length);
            try
            {
                int length = TurnChannelData.Write(channel, data.Span, buffer);
                await _mux.SendAsync(Server, buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
        else
        {
            var indication = new StunMessageBuilder(StunMethod.Send, StunClass.Indication, StunTransactionId.NewRandom());
            indication.AddXorAddress(StunAttributeType.XorPeerAddress, peer).Add(StunAttributeType.Data, data.Span);
            await _mux.SendAsync(Server, indication.ToArray(), cancellationToken).ConfigureAwait(false);
        }
        Interlocked.Increment(ref _sent);
    }

    private async Task InstallPermissionsAsync(IReadOnlyList<IPEndPoint> peers, CancellationToken cancellationToken)
    {
        // Several XOR-PEER-ADDRESS in one request (RFC 8656 §10.1); a few per request keeps messages small.
        foreach (IPEndPoint[] chunk in peers.DistinctBy(p => p.Address).Chunk(16))
        {
            await RequestAsync(StunMethod.CreatePermission, b =>
            {
                foreach (IPEndPoint peer in chunk)
                {
                    b.AddXorAddress(StunAttributeType.XorPeerAddress, peer);
                }
            }, cancellationToken).ConfigureAwait(false);
            foreach (IPEndPoint peer in chunk)
            {
                _permissions[peer.Address] = peer;
            }
        }
    }

    private Task<StunMessage> SendChannelBindAsync(ushort channel, IPEndPoint peer, CancellationToken cancellationToken) =>
        RequestAsync(StunMethod.ChannelBind, b => b
            .AddUInt32(StunAttributeType.ChannelNumber, (uint)channel << 16)
            .AddXorAddress(StunAttributeType.XorPeerAddress, peer), cancellationToken);

    private void ThrowIfNotActive()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _state) == StateDisposed, this);
        if (Volatile.Read(ref _state) == StateLost)
        {
            throw new TurnException(PeerError.ConnectionClosed, null, $"The TURN allocation on {Server} is lost.");
        }
    }

    // Data indications (RFC 8656 §11.6) arrive as STUN on the mux; only the server's, only for peers with a permission.
    private bool OnStun(EndPoint source, StunMessage message)
    {
        if (message.Method != StunMethod.Data || message.Class != StunClass.Indication || !IsServer(source))
        {
            return false;
        }
        if (message.XorPeerAddress is not { } peer || message.Data is not { } data)
        {
            Drop(source, "a Data indication without XOR-PEER-ADDRESS or DATA");
            return true;
        }
        peer = Normalize(peer);
        if (!_permissions.ContainsKey(peer.Address))
        {
            Drop(source, $"a Data indication from {peer}, which has no permission");
            return true;
        }
        Deliver(GetPeerEndPoint(peer), data.Span);
        return true;
    }

    private void OnChannelData(EndPoint source, ReadOnlySpan<byte> datagram)
    {
        if (!TurnChannelData.TryParse(datagram, out ushort channel, out ReadOnlySpan<byte> data, out string? error))
        {
            Drop(source, error);
            return;
        }
        if (!_peerByChannel.TryGetValue(channel, out TurnPeerEndPoint? peer))
        {
            Drop(source, $"ChannelData on unbound channel 0x{channel:X4}");
            return;
        }
        Deliver(peer, data);
    }

    private void Deliver(TurnPeerEndPoint peer, ReadOnlySpan<byte> data)
    {
        if (!IsActive)
        {
            Interlocked.Increment(ref _dropped);
            return;
        }
        Interlocked.Increment(ref _received);
        if (Volatile.Read(ref _dataHandler) is { } handler && handler(peer, data))
        {
            return;
        }
        _mux.DeliverRouted(peer, data);
    }

    private bool IsServer(EndPoint source) => source is IPEndPoint ip && Normalize(ip).Equals(Server);

    private void Drop(EndPoint source, string reason)
    {
        Interlocked.Increment(ref _dropped);
        TurnLog.Dropped(_logger, Server, source, reason);
    }
}
