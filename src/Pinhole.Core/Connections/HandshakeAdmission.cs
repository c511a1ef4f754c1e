namespace Pinhole.Connections;

/// <summary>How far an unauthenticated inbound connection has come; eviction takes the least advanced first.</summary>
internal enum HandshakeStage
{
    /// <summary>Accepted; not one byte received yet.</summary>
    Connected = 0,
    /// <summary>The dialer has sent something (multistream-select, the start of a ClientHello, ...).</summary>
    Negotiating = 1,
    /// <summary>A whole ClientHello record has arrived: the TLS handshake is running.</summary>
    Securing = 2,
    /// <summary>TLS is done; the multiplexer is being agreed.</summary>
    Muxing = 3,
}

/// <summary>Why <see cref="HandshakeAdmission.TryAdmit"/> turned a connection away.</summary>
internal enum AdmissionRefusal
{
    None,
    /// <summary>The source address already has its share of handshakes running.</summary>
    AddressLimit,
    /// <summary>The budget is full and the source already holds as many slots as anyone.</summary>
    BudgetFull,
}

/// <summary>
/// The budget of unauthenticated inbound connections (handshakes), shared fairly between source networks.
/// A silent or slow stranger can hold a slot only while nobody needs it:
/// <list type="bullet">
/// <item>each source address (IPv4 /32, IPv6 /64) may hold at most <c>maxPerAddress</c> slots;</item>
/// <item>when the budget is full, a newcomer takes a slot from the heaviest source: the network group
/// (IPv4 /16, IPv6 /32) holding the most slots, and in it the address holding the most — but only if that
/// source is heavier than the newcomer's own, else the newcomer is refused. Within the heaviest source the
/// least advanced slot goes (<see cref="HandshakeStage"/>), then the one that made progress (a whole
/// multistream message or TLS record) longest ago; a slot whose input waits unread is skipped, since the
/// stall is ours (unless every candidate's is: then the least advanced still goes). So sockets that have sent nothing go first, a socket stalled inside a record never
/// outranks one that completed it, and strangers from a few networks cannot keep others out.</item>
/// </list>
/// A real dialer from a network the attackers do not hold is never evicted while they hold more slots than
/// its network (any full budget of attackers from fewer than budget/2 groups), and never refused.
/// </summary>
/// <remarks>Eviction scans the budget (linear, it is a few hundred slots); it happens only when the budget is full.</remarks>
internal sealed class HandshakeAdmission
{
    private readonly int _max;
    private readonly int _maxPerAddress;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly HashSet<Ticket> _active = [];
    private readonly Dictionary<AddressKey, int> _perAddress = [];
    private readonly Dictionary<ulong, int> _perGroup = [];
    private readonly List<Candidate> _candidates = []; // reused under the lock: eviction allocates nothing

    public HandshakeAdmission(int maxHandshakes, int maxPerAddress, TimeProvider timeProvider)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxHandshakes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPerAddress, 1);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _max = maxHandshakes;
        _maxPerAddress = maxPerAddress;
        _time = timeProvider;
    }

    /// <summary>Handshakes holding a slot now.</summary>
    public int Count
    {
        get { lock (_lock) { return _active.Count; } }
    }

    /// <summary>Slots held by <paramref name="key"/> now.</summary>
    public int CountOf(AddressKey key)
    {
        lock (_lock)
        {
            return _perAddress.GetValueOrDefault(key);
        }
    }

    /// <summary>
    /// Admits a connection from <paramref name="key"/>, evicting another if the budget is full and fairness
    /// allows. The evicted ticket's <see cref="Ticket.Evicted"/> token fires (after this returns).
    /// </summary>
    /// <param name="key">The source address.</param>
    /// <param name="ticket">The admitted handshake.</param>
    /// <param name="hasData">Whether the socket has unread input (so a <see cref="HandshakeStage.Connected"/> slot that
    /// the loop has not served yet is not mistaken for a silent one). Optional.</param>
    public AdmissionRefusal TryAdmit(AddressKey key, out Ticket? ticket, Func<bool>? hasData = null)
    {
        Ticket? victim = null;
        lock (_lock)
        {
            ticket = null;
            var held = _perAddress.GetValueOrDefault(key);
            if (held >= _maxPerAddress)
            {
                return AdmissionRefusal.AddressLimit;
            }
            if (_active.Count >= _max)
            {
                victim = PickVictimLocked(_perGroup.GetValueOrDefault(key.Group), held);
                if (victim is null)
                {
                    return AdmissionRefusal.BudgetFull;
                }
                RemoveLocked(victim);
            }
            ticket = new Ticket(this, key, _time.GetTimestamp(), hasData);
            _active.Add(ticket);
            _perAddress[key] = held + 1;
            _perGroup[key.Group] = _perGroup.GetValueOrDefault(key.Group) + 1;
        }
        victim?.Evict();
        return AdmissionRefusal.None;
    }

    /// <summary>Evicts the least advanced, oldest handshake, if any (to free a descriptor when the process runs out).</summary>
    public bool EvictLeastAdvanced()
    {
        Ticket? victim = null;
        lock (_lock)
        {
            foreach (var candidate in _active)
            {
                if (victim is null || IsLessAdvanced(candidate, victim))
                {
                    victim = candidate;
                }
            }
            if (victim is not null)
            {
                RemoveLocked(victim);
            }
        }
        victim?.Evict();
        return victim is not null;
    }

    private Ticket? PickVictimLocked(int newcomerGroup, int newcomerAddress)
    {
        // The heaviest source: most slots in its group, then in its address.
        var (group, address) = (0, 0);
        foreach (var ticket in _active)
        {
            var weight = (_perGroup[ticket.Key.Group], _perAddress[ticket.Key]);
            if (weight.CompareTo((group, address)) > 0)
            {
                (group, address) = weight;
            }
        }
        if ((newcomerGroup, newcomerAddress).CompareTo((group, address)) >= 0)
        {
            return null;
        }
        _candidates.Clear();
        foreach (var candidate in _active)
        {
            if (_perGroup[candidate.Key.Group] == group && _perAddress[candidate.Key] == address)
            {
                // Stage and progress move on other threads: sort a snapshot, or the order could contradict itself.
                _candidates.Add(new Candidate(candidate.Stage, candidate.LastProgress, candidate));
            }
        }
        _candidates.Sort(static (a, b) => a.Stage != b.Stage ? a.Stage.CompareTo(b.Stage) : a.LastProgress.CompareTo(b.LastProgress));
        // A slot whose input has arrived but not been read yet is stalled by us, not by its dialer: skip it, and
        // count that as progress. Each candidate is looked at once (a frozen clock, or every slot with input
        // waiting, must not turn this into a loop); if every one has input waiting, the least advanced goes.
        foreach (var (_, _, candidate) in _candidates)
        {
            if (!candidate.HasData())
            {
                _candidates.Clear();
                return candidate;
            }
            candidate.Advance(HandshakeStage.Negotiating);
            candidate.Touch();
        }
        var fallback = _candidates.Count > 0 ? _candidates[0].Ticket : null;
        _candidates.Clear();
        return fallback;
    }

    private readonly record struct Candidate(HandshakeStage Stage, long LastProgress, Ticket Ticket);

    private static bool IsLessAdvanced(Ticket a, Ticket b) =>
        a.Stage < b.Stage || (a.Stage == b.Stage && a.LastProgress < b.LastProgress);

    private void Release(Ticket ticket)
    {
        lock (_lock)
        {
            RemoveLocked(ticket);
        }
    }

    private void RemoveLocked(Ticket ticket)
    {
        if (!_active.Remove(ticket))
        {
            return;
        }
        Decrement(_perAddress, ticket.Key);
        Decrement(_perGroup, ticket.Key.Group);
    }

    private static void Decrement<TKey>(Dictionary<TKey, int> counts, TKey key)
        where TKey : notnull
    {
        var left = counts[key] - 1;
        if (left == 0)
        {
            counts.Remove(key);
        }
        else
        {
            counts[key] = left;
        }
    }

    /// <summary>One admitted handshake. Dispose it when the handshake ends, however it ends.</summary>
    internal sealed class Ticket : IDisposable
    {
        private readonly HandshakeAdmission _owner;
        private readonly CancellationTokenSource _evicted = new();
        private readonly Func<bool>? _hasData;
        private int _stage;
        private long _lastProgress;
        private int _disposed;

        internal Ticket(HandshakeAdmission owner, AddressKey key, long started, Func<bool>? hasData)
        {
            _owner = owner;
            _hasData = hasData;
            Key = key;
            _lastProgress = started;
        }

        public AddressKey Key { get; }

        /// <summary>When the handshake last moved on (admission, a stage, a whole record), in <see cref="TimeProvider"/> ticks.</summary>
        public long LastProgress => Volatile.Read(ref _lastProgress);

        internal bool HasData()
        {
            try
            {
                return _hasData?.Invoke() ?? false;
            }
            catch (Exception e) when (e is System.Net.Sockets.SocketException or ObjectDisposedException)
            {
                return false;
            }
        }

        /// <summary>Records progress within the current stage (a whole record arrived).</summary>
        public void Touch() => Volatile.Write(ref _lastProgress, _owner._time.GetTimestamp());

        public HandshakeStage Stage => (HandshakeStage)Volatile.Read(ref _stage);

        /// <summary>Fires when the budget gave this slot to a newcomer.</summary>
        public CancellationToken Evicted => _evicted.Token;

        public bool WasEvicted => _evicted.IsCancellationRequested;

        /// <summary>Records progress (never goes back).</summary>
        public void Advance(HandshakeStage stage)
        {
            var value = (int)stage;
            var seen = Volatile.Read(ref _stage);
            while (seen < value)
            {
                var previous = Interlocked.CompareExchange(ref _stage, value, seen);
                if (previous == seen)
                {
                    Touch();
                    return;
                }
                seen = previous;
            }
        }

        internal void Evict()
        {
            try
            {
                _evicted.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Finished at the same moment: nothing left to evict.
            }
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }
            _owner.Release(this);
            _evicted.Dispose();
        }
    }
}
