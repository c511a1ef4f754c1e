using System.Net;

namespace Pinhole.Nat;

/// <summary>
/// A direct UDP path to a peer found by <see cref="UdpHolePunch.PunchAsync"/>: send DTLS (or anything) to
/// <see cref="RemoteEndPoint"/> through <see cref="Mux"/>. While it lives it answers the peer's
/// checks and sends its own every <see cref="UdpPunchOptions.KeepaliveInterval"/>, so both NATs keep the
/// mapping (their UDP timeouts are longer than the interval); <see cref="Lost"/> is raised once when
/// <see cref="UdpPunchOptions.MaxMissedKeepalives"/> in a row go unanswered. Disposing stops both.
/// </summary>
public sealed class UdpPath : IAsyncDisposable
{
    private readonly PunchSession _session;
    private readonly CancellationTokenSource _stop = new();
    private readonly ITimer? _keepalive;
    private int _missed, _answered, _lost, _disposed;
    private long _lastHeard;

    internal UdpPath(PunchSession session, UdpCandidate remote, TimeSpan? rtt)
    {
        _session = session;
        Candidate = remote;
        RoundTripTime = rtt;
        TimeProvider time = session.Options.TimeProvider;
        _lastHeard = time.GetTimestamp();
        session.OnPeerCheck = source =>
        {
            if (source.Equals(remote.EndPoint))
            {
                Interlocked.Exchange(ref _lastHeard, time.GetTimestamp());
            }
        };
        TimeSpan interval = session.Options.KeepaliveInterval;
        if (interval != Timeout.InfiniteTimeSpan)
        {
            _keepalive = time.CreateTimer(static s => ((UdpPath)s!).SendKeepalive(), this, interval, interval);
        }
    }

    /// <summary>Raised once when the peer stopped answering keepalives (the NAT forgot the mapping, or the peer left).</summary>
    public event EventHandler? Lost;

    /// <summary>
    /// The socket of this path: the node's, or — when birthday probing found the peer — an extra socket this path
    /// owns (closed with it). Send from this one: the NATs opened for it alone.
    /// </summary>
    public UdpMux Mux => _session.Mux;

    /// <summary>The peer's address on this path: where to send.</summary>
    public IPEndPoint RemoteEndPoint => Candidate.EndPoint;

    /// <summary>The peer's candidate that answered (its kind says how it was found).</summary>
    public UdpCandidate Candidate { get; }

    /// <summary>The last measured round-trip time of a check on this path (null on the controlled side until a keepalive is answered).</summary>
    public TimeSpan? RoundTripTime { get; private set; }

    /// <summary>Checks sent and answered, and the peer's checks received, since the punch started.</summary>
    public UdpPunchStatistics Statistics => _session.Statistics;

    /// <summary>Keepalives unanswered in a row so far.</summary>
    public int MissedKeepalives => Volatile.Read(ref _missed);

    /// <summary>Probes (keepalives and <see cref="ProbeAsync"/>) answered so far.</summary>
    public int ProbesAnswered => Volatile.Read(ref _answered);

    /// <summary>False once <see cref="Lost"/> was raised or the path disposed.</summary>
    public bool IsAlive => Volatile.Read(ref _lost) == 0 && Volatile.Read(ref _disposed) == 0;

    /// <summary>How long since the peer last sent a valid check on this path.</summary>
    public TimeSpan SinceLastHeard => _session.Options.TimeProvider.GetElapsedTime(Interlocked.Read(ref _lastHeard));

    /// <summary>Sends one keepalive check now and waits for its answer: the round-trip time, or null when unanswered.</summary>
    public async Task<TimeSpan?> ProbeAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
        TimeSpan? rtt = await _session.CheckAsync(Candidate, nominate: false, linked.Token).ConfigureAwait(false);
        if (rtt is not null)
        {
            RoundTripTime = rtt;
            Interlocked.Exchange(ref _missed, 0);
            Interlocked.Increment(ref _answered);
        }
        return rtt;
    }

    /// <summary>Stops the keepalives and stops answering the peer's checks.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        if (_keepalive is not null)
        {
            await _keepalive.DisposeAsync().ConfigureAwait(false);
        }
        await _stop.CancelAsync().ConfigureAwait(false);
        await _session.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    /// <inheritdoc/>
    public override string ToString() => $"UDP path to {Candidate}";

    // Each tick probes on its own (a probe outlives a tick only if CheckTimeout exceeds the interval, harmlessly).
    private void SendKeepalive()
    {
        if (!IsAlive)
        {
            return;
        }
        _ = Task.Run(async () =>
        {
            try
            {
                if (await ProbeAsync(_stop.Token).ConfigureAwait(false) is null && Interlocked.Increment(ref _missed) >= _session.Options.MaxMissedKeepalives
                    && Interlocked.Exchange(ref _lost, 1) == 0)
                {
                    PunchLog.PathLost(_session.Logger, RemoteEndPoint, _session.Options.MaxMissedKeepalives);
                    Lost?.Invoke(this, EventArgs.Empty);
                }
            }
            catch (ObjectDisposedException)
            {
            }
        });
    }
}
