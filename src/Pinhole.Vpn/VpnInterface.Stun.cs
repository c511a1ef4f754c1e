using System.Collections.Concurrent;
using System.Net;
using Pinhole.Nat;
using Pinhole.Vpn.DataPlane;

namespace Pinhole.Vpn;

// The data plane's own public mapping: STUN Binding requests (RFC 8489) sent from the data-plane socket itself, so
// the mapping they reveal is the one peers reach (a mapping learned on the node's DTLS socket is another NAT entry).
// Responses share the socket by RFC 7983's first-byte ranges (STUN 0–3, our types 4–6).
public sealed partial class VpnInterface
{
    // RFC 8489 §6.2.1: retransmit after 500 ms, doubling; the caller's timeout bounds the whole transaction.
    private static readonly TimeSpan StunFirstRetransmit = TimeSpan.FromMilliseconds(500);

    private readonly ConcurrentDictionary<StunTransactionId, TaskCompletionSource<IPEndPoint>> _stunWaiters = new();

    /// <summary>
    /// Asks the STUN server <paramref name="server"/> which address and port this interface's UDP socket is seen from
    /// (its XOR-MAPPED-ADDRESS); null when no answer comes within <paramref name="timeout"/> (on the interface's
    /// <see cref="TimeProvider"/>). Requests are retransmitted (500 ms, doubling) until then.
    /// </summary>
    public async Task<IPEndPoint?> QueryMappedAddressAsync(IPEndPoint server, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(server);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        StunMessageBuilder request = StunMessageBuilder.Request(StunMethod.Binding).AddFingerprint();
        var answer = new TaskCompletionSource<IPEndPoint>(TaskCreationOptions.RunContinuationsAsynchronously);
        _stunWaiters[request.TransactionId] = answer;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
        deadline.CancelAfter(timeout);
        try
        {
            UdpAddress destination = _transport.Resolve(server);
            TimeSpan wait = StunFirstRetransmit;
            while (!answer.Task.IsCompleted)
            {
                _transport.SendOne(destination, request.AsSpan());
                try
                {
                    await answer.Task.WaitAsync(wait, _time, deadline.Token).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    wait += wait;
                }
            }
            return await answer.Task.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null; // timed out, or the interface is stopping
        }
        finally
        {
            _stunWaiters.TryRemove(request.TransactionId, out _);
        }
    }

    // From the receive loop: only a well-formed Binding success for a transaction of ours is taken; the rest is dropped.
    private void OnStun(ReadOnlySpan<byte> datagram)
    {
        if (_stunWaiters.IsEmpty || !StunMessage.LooksLikeStun(datagram) || !StunMessage.TryParse(datagram, out StunMessage? message, out _)
            || message.Method != StunMethod.Binding || message.Class != StunClass.SuccessResponse
            || !_stunWaiters.TryGetValue(message.TransactionId, out TaskCompletionSource<IPEndPoint>? waiter) || message.XorMappedAddress is not { } mapped)
        {
            Interlocked.Increment(ref _droppedInvalid);
            return;
        }
        waiter.TrySetResult(mapped.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(mapped.Address.MapToIPv4(), mapped.Port) : mapped);
    }
}
