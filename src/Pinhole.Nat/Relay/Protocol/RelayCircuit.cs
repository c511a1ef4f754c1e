using System.Buffers;

namespace Pinhole.Nat.Relay.Protocol;

/// <summary>Why a relayed circuit ended.</summary>
internal enum CircuitEnd
{
    /// <summary>Both sides finished their streams.</summary>
    Closed,
    /// <summary>The duration limit passed.</summary>
    DurationLimit,
    /// <summary>A direction went over the data limit.</summary>
    DataLimit,
    /// <summary>A stream failed or was reset.</summary>
    Error,
    /// <summary>The relay shut down.</summary>
    Shutdown,
}

/// <summary>
/// The relay's byte pipe between the initiator's hop stream and the target's stop stream, with the circuit's limits:
/// each direction may carry <c>data</c> bytes (forwarded exactly up to the limit, then both streams are reset, as the
/// peers are told), and the whole circuit lives at most <c>duration</c>. A half-close (FIN) is passed on; a reset or a
/// failure on either side resets both. The relay never looks at the bytes: they are the peers' TLS records.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "RunAsync disposes the token source when the circuit ends; a circuit runs once.")]
internal sealed class RelayCircuit
{
    /// <summary>Copy buffer per direction while data flows (a TLS record's size).</summary>
    public const int BufferSize = 16 * 1024;

    /// <summary>Copy buffer per direction while the circuit is quiet: most circuits carry little (control protocols, DCUtR).</summary>
    public const int SmallBufferSize = 2 * 1024;

    private readonly PeerStream _initiator;
    private readonly PeerStream _target;
    private readonly ConnectionLimit? _limit;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private int _end = -1;

    public RelayCircuit(PeerStream initiator, PeerStream target, ConnectionLimit? limit, TimeProvider time)
    {
        _initiator = initiator;
        _target = target;
        _limit = limit;
        _time = time;
    }

    /// <summary>Bytes forwarded from the initiator to the target.</summary>
    public long Forwarded { get; private set; }

    /// <summary>Bytes forwarded from the target to the initiator.</summary>
    public long Returned { get; private set; }

    /// <summary>Called for every chunk forwarded (for metrics), with its size.</summary>
    public Action<int>? OnBytes { get; init; }

    /// <summary>Sees every chunk forwarded (true: initiator to target); tests use it to check the relay carries only ciphertext.</summary>
    public Action<bool, ReadOnlyMemory<byte>>? Tap { get; init; }

    /// <summary>Pipes until both directions are done or a limit or error ends the circuit; returns why it ended.</summary>
    public async Task<CircuitEnd> RunAsync(CancellationToken shutdown)
    {
        using var link = shutdown.Register(static s => ((RelayCircuit)s!).End(CircuitEnd.Shutdown), this);
        ITimer? timer = null;
        if (_limit?.Duration is { } duration)
        {
            timer = _time.CreateTimer(static s => ((RelayCircuit)s!).End(CircuitEnd.DurationLimit), this, duration, Timeout.InfiniteTimeSpan);
        }
        try
        {
            var forward = CopyAsync(_initiator, _target, true, n => Forwarded += n);
            var back = CopyAsync(_target, _initiator, false, n => Returned += n);
            await Task.WhenAll(forward, back).ConfigureAwait(false);
            End(CircuitEnd.Closed);
        }
        finally
        {
            if (timer is not null)
            {
                await timer.DisposeAsync().ConfigureAwait(false);
            }
            await _initiator.DisposeAsync().ConfigureAwait(false);
            await _target.DisposeAsync().ConfigureAwait(false);
            _stop.Dispose();
        }
        return (CircuitEnd)Volatile.Read(ref _end);
    }

    private void End(CircuitEnd reason)
    {
        if (Interlocked.CompareExchange(ref _end, (int)reason, -1) != -1)
        {
            return;
        }
        if (reason != CircuitEnd.Closed)
        {
            _initiator.Abort();
            _target.Abort();
            try
            {
                _stop.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The circuit already finished.
            }
        }
    }

    private async Task CopyAsync(PeerStream from, PeerStream to, bool forward, Action<int> count)
    {
        var remaining = _limit?.Data is { } data ? (long)Math.Min(data, long.MaxValue) : long.MaxValue;
        // A pending read holds its buffer: start small, grow when a read fills it, shrink when the flow goes quiet.
        var size = SmallBufferSize;
        var smallReads = 0;
        var buffer = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            while (true)
            {
                var n = await from.ReadAsync(buffer.AsMemory(0, size), _stop.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    to.CompleteWrites();
                    return;
                }
                var allowed = (int)Math.Min(n, remaining);
                if (allowed > 0)
                {
                    await to.WriteAsync(buffer.AsMemory(0, allowed), _stop.Token).ConfigureAwait(false);
                    remaining -= allowed;
                    count(allowed);
                    OnBytes?.Invoke(allowed);
                    Tap?.Invoke(forward, buffer.AsMemory(0, allowed));
                }
                if (allowed < n)
                {
                    End(CircuitEnd.DataLimit);
                    return;
                }
                // Shrink only after a few small reads in a row: a bulk flow now and then delivers a short piece.
                smallReads = n < SmallBufferSize ? smallReads + 1 : 0;
                var next = n == size ? BufferSize : smallReads >= 4 ? SmallBufferSize : size;
                if (next != size)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    size = next;
                    buffer = ArrayPool<byte>.Shared.Rent(size);
                }
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            End(CircuitEnd.Error);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
