namespace Pinhole.Nat.Relay;

/// <summary>
/// A slot this node holds on a relay (<see cref="RelayClient.ReserveAsync"/>). The client refreshes it before it expires
/// for as long as the relay connection lives; <see cref="Completion"/> reports its end.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The token source has no timer; it is cancelled when the reservation ends, and nothing is left to release.")]
public sealed class RelayReservation
{
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _cancel = new();
    private volatile State _state;

    internal RelayReservation(PeerConnection connection, State state)
    {
        Connection = connection;
        _state = state;
    }

    /// <summary>The relay.</summary>
    public PeerId Relay => Connection.RemotePeer;

    /// <summary>The connection to the relay the reservation lives on.</summary>
    public PeerConnection Connection { get; }

    /// <summary>When the relay drops the reservation unless refreshed.</summary>
    public DateTimeOffset Expiration => _state.Expiration;

    /// <summary>Where peers can reach this node through the relay: <c>…/p2p/&lt;relay&gt;/p2p-circuit/p2p/&lt;us&gt;</c>.</summary>
    public IReadOnlyList<CircuitAddress> Addresses => _state.Addresses;

    /// <summary>The relay's limit for circuits to us, or null when it announced none.</summary>
    public ConnectionLimit? Limit => _state.Limit;

    /// <summary>The relay's verified voucher, or null when it sent none.</summary>
    public ReservationVoucher? Voucher => _state.Voucher;

    /// <summary>How many times the reservation was refreshed.</summary>
    public int Refreshes => _state.Refreshes;

    /// <summary>
    /// Completes when the reservation ends: successfully after <see cref="CancelAsync"/>, faulted with a
    /// <see cref="PeerException"/> when it is lost (the relay connection closed, or refreshing failed until it expired).
    /// </summary>
    public Task Completion => _completion.Task;

    /// <summary>Raised after each successful refresh (on a thread-pool thread).</summary>
    public event EventHandler? Refreshed;

    /// <summary>Stops refreshing; the relay forgets the slot when it expires (the protocol has no release message).</summary>
    public async ValueTask CancelAsync()
    {
        await _cancel.CancelAsync().ConfigureAwait(false);
        _completion.TrySetResult();
    }

    internal void Cancel()
    {
        _cancel.Cancel();
        _completion.TrySetResult();
    }

    internal CancellationToken Cancelled => _cancel.Token;

    internal void Update(State state)
    {
        _state = state with { Refreshes = _state.Refreshes + 1 };
        Refreshed?.Invoke(this, EventArgs.Empty);
    }

    internal void Lose(PeerException reason)
    {
        if (_completion.TrySetException(reason))
        {
            _cancel.Cancel();
        }
    }

    internal bool IsLive(DateTimeOffset now) => !_completion.Task.IsCompleted && _state.Expiration > now && !Connection.Completion.IsCompleted;

    /// <inheritdoc/>
    public override string ToString() => $"reservation on {Relay} until {Expiration:O}";

    /// <summary>What one RESERVE answer said; <paramref name="RefreshAt"/> is fixed when the answer arrives.</summary>
    internal sealed record State(DateTimeOffset Expiration, DateTimeOffset RefreshAt, IReadOnlyList<CircuitAddress> Addresses, ConnectionLimit? Limit, ReservationVoucher? Voucher, int Refreshes = 0);

    internal DateTimeOffset RefreshAt => _state.RefreshAt;
}
