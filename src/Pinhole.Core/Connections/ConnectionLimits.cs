namespace Pinhole.Connections;

/// <summary>Why an authenticated (or about to be) connection was turned away.</summary>
internal enum LimitRefusal
{
    None,
    /// <summary><c>MaxConnections</c>: the listener holds as many connections as it may.</summary>
    ConnectionLimit,
    /// <summary><c>MaxConnectionsPerAddress</c>: this source address holds its share.</summary>
    AddressLimit,
    /// <summary><c>MaxConnectionsPerPeer</c>: this identity holds its share (identities are free to make).</summary>
    PeerLimit,
}

/// <summary>
/// Counts established inbound connections in total, per source address and per remote identity, so that no
/// single address or identity can take every slot. Reservations are atomic: a connection is counted
/// (<see cref="TryAdd"/>) only if all three limits agree, and uncounted once (<see cref="Remove"/>).
/// </summary>
/// <typeparam name="TPeer">The identity type (a PeerId, an OCapN designator).</typeparam>
internal sealed class ConnectionLimits<TPeer>
    where TPeer : notnull
{
    private readonly int _max;
    private readonly int _maxPerAddress;
    private readonly int _maxPerPeer;
    private readonly Lock _lock = new();
    private readonly Dictionary<AddressKey, int> _perAddress = [];
    private readonly Dictionary<TPeer, int> _perPeer = [];
    private int _total;

    public ConnectionLimits(int max, int maxPerAddress, int maxPerPeer)
    {
        _max = max;
        _maxPerAddress = maxPerAddress;
        _maxPerPeer = maxPerPeer;
    }

    /// <summary>Connections counted now.</summary>
    public int Count => Volatile.Read(ref _total);

    /// <summary>Connections of <paramref name="peer"/> counted now.</summary>
    public int CountOf(TPeer peer)
    {
        lock (_lock)
        {
            return _perPeer.GetValueOrDefault(peer);
        }
    }

    /// <summary>
    /// A cheap check before any handshake work: would a connection from <paramref name="address"/> fit now?
    /// (It is checked again, atomically, by <see cref="TryAdd"/>.)
    /// </summary>
    public LimitRefusal Precheck(AddressKey address)
    {
        lock (_lock)
        {
            return _total >= _max ? LimitRefusal.ConnectionLimit
                : _perAddress.GetValueOrDefault(address) >= _maxPerAddress ? LimitRefusal.AddressLimit
                : LimitRefusal.None;
        }
    }

    /// <summary>Counts a connection if every limit allows it; else says which limit refused.</summary>
    public LimitRefusal TryAdd(AddressKey address, TPeer? peer)
    {
        lock (_lock)
        {
            if (_total >= _max)
            {
                return LimitRefusal.ConnectionLimit;
            }
            var byAddress = _perAddress.GetValueOrDefault(address);
            if (byAddress >= _maxPerAddress)
            {
                return LimitRefusal.AddressLimit;
            }
            var byPeer = peer is null ? 0 : _perPeer.GetValueOrDefault(peer);
            if (peer is not null && byPeer >= _maxPerPeer)
            {
                return LimitRefusal.PeerLimit;
            }
            _total++;
            _perAddress[address] = byAddress + 1;
            if (peer is not null)
            {
                _perPeer[peer] = byPeer + 1;
            }
            return LimitRefusal.None;
        }
    }

    /// <summary>Uncounts a connection added by <see cref="TryAdd"/>.</summary>
    public void Remove(AddressKey address, TPeer? peer)
    {
        lock (_lock)
        {
            _total--;
            Decrement(_perAddress, address);
            if (peer is not null)
            {
                Decrement(_perPeer, peer);
            }
        }
    }

    private static void Decrement<TKey>(Dictionary<TKey, int> counts, TKey key)
        where TKey : notnull
    {
        var left = counts.GetValueOrDefault(key) - 1;
        if (left <= 0)
        {
            counts.Remove(key);
        }
        else
        {
            counts[key] = left;
        }
    }
}
