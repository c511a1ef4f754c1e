using System.Globalization;
using System.Runtime.CompilerServices;

namespace Pinhole.Node;

public sealed partial class NodeConnections
{
    /// <summary>
    /// The connection in use for <paramref name="peer"/>, dialling it first if there is none: the peer's
    /// stored addresses, best first, a new attempt every <see cref="NodeConnectionOptions.DialStagger"/> (or at
    /// once when one fails), at most <see cref="NodeConnectionOptions.MaxParallelDials"/> at a time; the first
    /// to succeed wins. Concurrent calls share one dial. Throws <see cref="PeerException"/>:
    /// <see cref="PeerError.Unreachable"/> (no address, or none answered), an authentication error if a peer
    /// at one of the addresses proved another key, <see cref="PeerError.LimitExceeded"/>,
    /// <see cref="PeerError.ConnectionClosed"/> (the node is stopping, or the connection closed as it opened).
    /// </summary>
    public ValueTask<PeerConnection> ConnectAsync(PeerId peer, CancellationToken cancellationToken = default)
        => ConnectAsync(peer, [], cancellationToken);

    /// <summary>
    /// Like <see cref="ConnectAsync(PeerId, CancellationToken)"/> for an address given by a person: its PeerId is
    /// pinned and its hints are stored as configured and tried first. With <paramref name="trustOnFirstUse"/>
    /// an address without a PeerId is allowed: whatever key answers is accepted and remembered as such.
    /// </summary>
    public async ValueTask<PeerConnection> ConnectAsync(PeerAddress address, bool trustOnFirstUse = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.PeerId is { } peer)
        {
            var known = address.Hints.Count > 0 ? _node.Peers.Add(peer, addresses: address.Hints) : null;
            return await ConnectAsync(peer, address.Hints, cancellationToken, known).ConfigureAwait(false);
        }
        if (!trustOnFirstUse)
        {
            throw new ArgumentException($"The address '{address}' names no PeerId, so the peer cannot be authenticated; add /p2p/<PeerId>, or allow trust on first use.", nameof(address));
        }
        if (address.Hints.Count == 0)
        {
            throw new PeerException(PeerError.Unreachable, $"No transport address to dial in '{address}'.");
        }
        var options = _node.CreateConnectOptions(address);
        options.TrustOnFirstUse = true;
        var connection = await PeerConnection.ConnectAsync(options, cancellationToken).ConfigureAwait(false);
        _node.Peers.RecordConnected(connection.RemotePeer, PeerTrust.TrustedOnFirstUse);
        _node.Peers.AddAddress(connection.RemotePeer, address.Hints[0], AddressSource.Configured);
        var managed = AdoptCore(connection, ConnectionPathKind.Direct)
            ?? throw new PeerException(PeerError.LimitExceeded, $"The connection to {connection.RemotePeer} was refused by the node's limits.");
        return Get(managed.Peer) ?? managed.Connection;
    }

    // known: the peer as the store has just returned it (a connect by address), so the dial need not read it again.
    private async ValueTask<PeerConnection> ConnectAsync(PeerId peer, IReadOnlyList<Multiaddr> first, CancellationToken cancellationToken, KnownPeer? known = null)
    {
        ArgumentNullException.ThrowIfNull(peer);
        if (peer.Equals(_node.LocalPeer))
        {
            throw new ArgumentException("A node does not connect to itself.", nameof(peer));
        }
        while (true)
        {
            Task<ManagedConnection> dial;
            bool joined;
            lock (_lock)
            {
                if (_stopped)
                {
                    throw new PeerException(PeerError.ConnectionClosed, $"The node is stopping: not connecting to {peer}.");
                }
                var slot = Slot(peer);
                slot.ReconnectSuspended = false;
                // A connection the node is closing (idle, disconnected) is not handed out: dial a new one.
                if (Usable(slot) is { } primary)
                {
                    return primary.Connection;
                }
                joined = slot.Dial is not null;
                dial = slot.Dial ??= StartDial(slot, first, known);
            }
            var managed = await dial.WaitAsync(cancellationToken).ConfigureAwait(false);
            lock (_lock)
            {
                // (The dial's own finally has cleared its slot entry by now, so the next pass never rejoins it.)
                if (_peers.TryGetValue(peer, out var slot) && Usable(slot) is { } primary)
                {
                    return primary.Connection;
                }
            }
            if (!managed.Closed && managed.CloseNote is null)
            {
                return managed.Connection;
            }
            if (!joined)
            {
                throw new PeerException(PeerError.ConnectionClosed, $"The connection to {peer} closed as soon as it opened: {CloseReason(managed)}.");
            }
            // We joined a dial that finished before this call (its connection since closed, e.g. by
            // DisconnectAsync while the dial was still unwinding): dial afresh rather than hand out a closed one.
        }
    }

    private static ManagedConnection? Usable(PeerSlot slot) => slot.Primary is { Closed: false, CloseNote: null } primary ? primary : null;

    // Called under the lock: the dial runs on the pool and clears itself from the slot when done, unless a newer
    // dial has replaced it there.
    private Task<ManagedConnection> StartDial(PeerSlot slot, IReadOnlyList<Multiaddr> first, KnownPeer? known)
    {
        var self = new StrongBox<Task<ManagedConnection>?>();
        self.Value = Task.Run(async () =>
        {
            try
            {
                return await DialAsync(slot.Peer, first, known).ConfigureAwait(false);
            }
            finally
            {
                lock (_lock)
                {
                    if (ReferenceEquals(slot.Dial, self.Value))
                    {
                        slot.Dial = null;
                    }
                    DropIfEmpty(slot);
                }
            }
        });
        return self.Value;
    }

    private async Task<ManagedConnection> DialAsync(PeerId peer, IReadOnlyList<Multiaddr> first, KnownPeer? known)
    {
        var candidates = Candidates(peer, first, known);
        if (candidates.Count == 0)
        {
            var error = new PeerException(PeerError.Unreachable, $"No known address for {peer}: add one (pinhole peers add {peer} --address /ip4/…/tcp/…).");
            _node.Events.Publish(new DialFailedEvent(_time.GetUtcNow(), peer, error.Message));
            throw error;
        }
        if (Count >= _options.MaxConnections)
        {
            throw new PeerException(PeerError.LimitExceeded, $"The node is at its connection limit ({_options.MaxConnections}, MaxConnections).");
        }
        var started = _time.GetTimestamp();
        using var deadline = new CancellationTokenSource(_options.DialTimeout, _time);
        using var dialing = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, _stopping.Token);
        var failures = new List<(Multiaddr Address, PeerException Error)>();
        PeerConnection? winner = null;
        IPeerDialer? winnerDialer = null;
        Multiaddr? winnerAddress = null;
        var running = new Dictionary<Task<PeerConnection>, (Multiaddr Address, IPeerDialer Dialer)>();
        var next = 0;
        Task? stagger = null;
        try
        {
            while (winner is null && (next < candidates.Count || running.Count > 0))
            {
                if (next < candidates.Count && running.Count < _options.MaxParallelDials && (running.Count == 0 || stagger is { IsCompleted: true }))
                {
                    var (address, dialer) = candidates[next++];
                    running.Add(AttemptAsync(peer, address, dialer, dialing.Token), (address, dialer));
                    stagger = next < candidates.Count ? Task.Delay(_options.DialStagger, _time, dialing.Token) : null;
                    continue;
                }
                var waitOn = new List<Task>(running.Keys);
                if (stagger is not null && next < candidates.Count && running.Count < _options.MaxParallelDials)
                {
                    waitOn.Add(stagger);
                }
                var done = await Task.WhenAny(waitOn).ConfigureAwait(false);
                if (done is Task<PeerConnection> attempt && running.Remove(attempt, out var info))
                {
                    if (attempt.IsCompletedSuccessfully)
                    {
                        winner = attempt.Result;
                        winnerDialer = info.Dialer;
                        winnerAddress = info.Address; // its success is recorded with the connection, in one write
                    }
                    else
                    {
                        var error = Unwrap(attempt.Exception, info.Address, deadline.IsCancellationRequested);
                        failures.Add((info.Address, error));
                        Record(peer, info.Address, error.Message);
                        stagger = Task.CompletedTask; // a failure starts the next attempt at once (RFC 8305 §5)
                    }
                }
                else if (done == stagger && stagger.IsCanceled)
                {
                    stagger = null;
                }
            }
        }
        finally
        {
            await dialing.CancelAsync().ConfigureAwait(false);
            // Late winners of the race are closed; losers' errors are already recorded.
            foreach (var (late, info) in running)
            {
                _ = DiscardAsync(late, peer, info.Address);
            }
        }
        _node.Metrics.Dialled(winner is not null ? null : Classify(failures), _time.GetElapsedTime(started));
        if (winner is null)
        {
            var error = Summarize(peer, failures, _stopping.IsCancellationRequested);
            _node.Events.Publish(new DialFailedEvent(_time.GetUtcNow(), peer, error.Message));
            throw error;
        }
        var adopted = AdoptCore(winner, winnerDialer!.PathKind, winnerAddress);
        if (adopted is null)
        {
            Record(peer, winnerAddress!, null);
            throw new PeerException(PeerError.LimitExceeded, $"The connection to {peer} was refused by the node's limits.");
        }
        if (DialUnwindingForTests is { } unwinding)
        {
            await unwinding(adopted).ConfigureAwait(false);
        }
        return adopted;
    }

    /// <summary>Tests only: awaited after a dial's connection is adopted and before the dial completes (a preempted thread).</summary>
    internal Func<ManagedConnection, Task>? DialUnwindingForTests { get; set; }

    private List<(Multiaddr Address, IPeerDialer Dialer)> Candidates(PeerId peer, IReadOnlyList<Multiaddr> first, KnownPeer? known)
    {
        var ordered = new List<Multiaddr>();
        foreach (var hint in first)
        {
            ordered.Add(hint.TryGetPeerId(out _) ? hint.DecapsulateCode(0x01a5) : hint);
        }
        if ((known ?? _node.Peers.Get(peer)) is { } stored)
        {
            ordered.AddRange(stored.Addresses.Select(a => a.Address));
        }
        var result = new List<(Multiaddr, IPeerDialer)>();
        foreach (var address in ordered.Distinct())
        {
            if (_node.FindDialer(address) is { } dialer)
            {
                result.Add((address, dialer));
                if (result.Count == _options.MaxAddressesPerDial)
                {
                    break;
                }
            }
        }
        return result;
    }

    private async Task<PeerConnection> AttemptAsync(PeerId peer, Multiaddr address, IPeerDialer dialer, CancellationToken cancellationToken)
    {
        await Task.Yield();
        var options = _node.CreateConnectOptions(new PeerAddress(peer, [address]));
        var connection = await dialer.DialAsync(peer, address, options, cancellationToken).ConfigureAwait(false);
        if (!connection.RemotePeer.Equals(peer))
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw new PeerException(PeerError.PeerMismatch, $"Peer mismatch: dialed {peer} but the peer proved {connection.RemotePeer}.");
        }
        return connection;
    }

    private async Task DiscardAsync(Task<PeerConnection> attempt, PeerId peer, Multiaddr address)
    {
        try
        {
            var connection = await attempt.ConfigureAwait(false);
            await connection.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is PeerException or OperationCanceledException or IOException)
        {
            NodeLog.DialAbandoned(_logger, peer, address);
        }
    }

    private void Record(PeerId peer, Multiaddr address, string? error)
    {
        try
        {
            _node.Peers.RecordDial(peer, address, error);
        }
        catch (PeerStoreException e)
        {
            NodeLog.IdentifyFailed(_logger, peer, e.Message);
        }
    }

    private static PeerException Unwrap(AggregateException? exception, Multiaddr address, bool deadlinePassed)
    {
        var inner = exception?.InnerException;
        return inner switch
        {
            PeerException p => p,
            OperationCanceledException when deadlinePassed => new PeerException(PeerError.Timeout, $"Dialling {address} did not finish in time."),
            OperationCanceledException => new PeerException(PeerError.ConnectionClosed, $"Dialling {address} was cancelled."),
            IOException io => new PeerException(PeerError.Unreachable, $"Dialling {address} failed: {io.Message}", io),
            _ => new PeerException(PeerError.InternalError, $"Dialling {address} failed: {inner?.Message}", inner),
        };
    }

    private static string Classify(List<(Multiaddr Address, PeerException Error)> failures) =>
        failures.Count == 0 ? "cancelled" : failures[^1].Error.Error.ToString();

    private static PeerException Summarize(PeerId peer, List<(Multiaddr Address, PeerException Error)> failures, bool stopping)
    {
        if (stopping)
        {
            return new PeerException(PeerError.ConnectionClosed, $"The node stopped while dialling {peer}.");
        }
        var details = string.Join("; ", failures.Select(f => string.Create(CultureInfo.InvariantCulture, $"{f.Address}: {f.Error.Message}")));
        // An authentication failure is the most telling: someone answered, but with another key.
        var authentication = failures.FirstOrDefault(f => f.Error.Error is PeerError.PeerMismatch or PeerError.InvalidCertificate or PeerError.HandshakeFailed).Error;
        if (authentication is not null)
        {
            return new PeerException(authentication.Error, $"Could not connect to {peer}: {details}", authentication);
        }
        var timeout = failures.Count > 0 && failures.All(f => f.Error.Error == PeerError.Timeout);
        return new PeerException(timeout ? PeerError.Timeout : PeerError.Unreachable,
            failures.Count == 0 ? $"Could not connect to {peer} in time." : $"Could not connect to {peer}: {details}");
    }
}
