using System.Net;
using System.Net.Sockets;

namespace Pinhole.Nat.Dcutr;

/// <summary>What <c>DirectDialFirst.TryAsync</c> found: the connection (or null), where, and what each failed dial said.</summary>
internal sealed record DirectDialOutcome<TDirect>(TDirect? Direct, IPEndPoint? At, IReadOnlyList<IPEndPoint> Tried, IReadOnlyList<string> Errors)
    where TDirect : class;

/// <summary>
/// B's first step, as go-libp2p's hole puncher does it: when the peer announces a public address (one no NAT sits in
/// front of), a plain dial reaches it and no punch is needed. Every public TCP address is dialed at once; the first
/// connection wins, the others are cancelled (and closed if they still connect), all within one timeout on the clock.
/// </summary>
internal static class DirectDialFirst
{
    /// <summary>At most this many addresses are dialed (identify may list many).</summary>
    public const int MaxAddresses = 8;

    /// <summary>Public unicast, not private, CGNAT, loopback, link-local, unspecified or multicast.</summary>
    public static bool IsPublic(IPAddress address) =>
        !Netcheck.IsPrivateOrShared(address)
        && !(address.AddressFamily == AddressFamily.InterNetwork ? address.GetAddressBytes()[0] >= 224 : address.IsIPv6Multicast);

    /// <summary>The public TCP endpoints among <paramref name="addresses"/> (no circuits), distinct, at most <see cref="MaxAddresses"/>.</summary>
    public static List<IPEndPoint> Candidates(IEnumerable<Multiaddr> addresses, Func<IPAddress, bool> isPublic)
    {
        var result = new List<IPEndPoint>();
        foreach (var address in addresses)
        {
            if (result.Count == MaxAddresses)
            {
                break;
            }
            if (!CircuitAddress.IsCircuit(address) && address.TryGetIPEndPoint(out var endPoint, out var transport) && transport == "tcp"
                && endPoint.Port != 0 && isPublic(endPoint.Address) && !result.Contains(endPoint))
            {
                result.Add(endPoint);
            }
        }
        return result;
    }

    /// <summary>
    /// Dials every candidate at once and returns the first connection; null when none connected within
    /// <paramref name="timeout"/> (measured on <paramref name="time"/>). Throws only when <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    public static async Task<DirectDialOutcome<TDirect>> TryAsync<TDirect>(
        IReadOnlyList<IPEndPoint> candidates, Func<IPEndPoint, CancellationToken, Task<TDirect>> dial, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
        where TDirect : class
    {
        using var deadline = new CancellationTokenSource(timeout, time);
        return await TryAsync(candidates, dial, timeout, deadline.Token, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// As above, but ends at <paramref name="deadline"/>, a deadline the caller already started (DCUtR's one
    /// <see cref="DcutrOptions.AttemptTimeout"/> covers identify and the dials together); <paramref name="timeout"/>
    /// only names it in the errors.
    /// </summary>
    public static async Task<DirectDialOutcome<TDirect>> TryAsync<TDirect>(
        IReadOnlyList<IPEndPoint> candidates, Func<IPEndPoint, CancellationToken, Task<TDirect>> dial, TimeSpan timeout, CancellationToken deadline, CancellationToken cancellationToken)
        where TDirect : class
    {
        var errors = new List<string>();
        if (candidates.Count == 0)
        {
            return new DirectDialOutcome<TDirect>(null, null, candidates, errors);
        }
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline, cancellationToken);
        var pending = new Dictionary<Task<TDirect>, IPEndPoint>();
        foreach (var endPoint in candidates)
        {
            pending[DialOne(dial, endPoint, linked.Token)] = endPoint;
        }
        try
        {
            while (pending.Count > 0)
            {
                var done = await Task.WhenAny(pending.Keys).ConfigureAwait(false);
                var at = pending[done];
                pending.Remove(done);
                if (done.IsCompletedSuccessfully)
                {
                    return new DirectDialOutcome<TDirect>(done.Result, at, candidates, errors);
                }
                cancellationToken.ThrowIfCancellationRequested();
                var error = done.Exception?.InnerException;
                errors.Add(error is OperationCanceledException || done.IsCanceled
                    ? $"direct dial to {at}: no connection within {timeout.TotalSeconds:0.###} s"
                    : $"direct dial to {at}: {error?.Message}");
            }
            return new DirectDialOutcome<TDirect>(null, null, candidates, errors);
        }
        finally
        {
            // The losers: cancel them, and close any that still connect.
            await linked.CancelAsync().ConfigureAwait(false);
            foreach (var loser in pending.Keys)
            {
                _ = loser.ContinueWith(static t =>
                {
                    if (t.IsCompletedSuccessfully && t.Result is IAsyncDisposable disposable)
                    {
                        _ = disposable.DisposeAsync().AsTask();
                    }
                }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
    }

    private static async Task<TDirect> DialOne<TDirect>(Func<IPEndPoint, CancellationToken, Task<TDirect>> dial, IPEndPoint endPoint, CancellationToken cancellationToken)
    {
        // A dial delegate that throws synchronously still becomes a failed task, never an escaping exception.
        await Task.Yield();
        return await dial(endPoint, cancellationToken).ConfigureAwait(false);
    }
}
