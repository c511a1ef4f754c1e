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

    private readonly ConcurrentDictionary<StunTransactionId, (UdpAddress Server, TaskCompletionSource<IPEndPoint> Answer)> _stunWaiters = new();

    /// <summary>
    /// Asks the STUN server <paramref name="server"/> which address and port this interface's UDP socket is seen from
    /// (its XOR-MAPPED-ADDRESS); null when no answer comes within <paramref name="timeout"/> (on the interface's
    /// <see cref="TimeProvider"/>). Requests are retransmitted (500 ms, doubling) until then. Only an answer from the
    /// server asked, for this transaction, naming a unicast address is taken: anyone else who learns the transaction id
    /// cannot make the interface announce an address of their choosing.
    /// </summary>
    public async Task<IPEndPoint?> QueryMappedAddressAsync(IPEndPoint server, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        StunMessageBuilder request = StunMessageBuilder.Request(StunMethod.Binding).AddFingerprint();
        var answer = new TaskCompletionSource<IPEndPoint>(TaskCreationOptions.RunContinuationsAsynchronously);
        UdpAddress destination = _transport.Resolve(server);
        _stunWaiters[request.TransactionId] = (destination, answer);
        using var timer = new CancellationTokenSource(timeout, _time);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token, timer.Token);
        try
        {
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
    private void OnStun(ReadOnlySpan<byte> datagram, UdpAddress source)
    {
        if (_stunWaiters.IsEmpty || !StunMessage.LooksLikeStun(datagram) || !StunMessage.TryParse(datagram, out StunMessage? message, out _)
            || message.Method != StunMethod.Binding || message.Class != StunClass.SuccessResponse
            || !_stunWaiters.TryGetValue(message.TransactionId, out var waiter) || !waiter.Server.Equals(source)
            || message.XorMappedAddress is not { } found)
        {
            Interlocked.Increment(ref _droppedInvalid);
            return;
        }
        IPEndPoint mapped = found.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(found.Address.MapToIPv4(), found.Port) : found;
        if (!IsUnicastMapping(mapped, waiter.Server.EndPoint))
        {
            Interlocked.Increment(ref _droppedInvalid);
            return;
        }
        waiter.Answer.TrySetResult(mapped);
    }

    // A mapping is where peers will send: a port, and a unicast address that is not the link's own; loopback only from a
    // server on loopback (which sees us there).
    private static bool IsUnicastMapping(IPEndPoint mapped, IPEndPoint server)
    {
        IPAddress a = mapped.Address;
        if (mapped.Port == 0 || a.Equals(IPAddress.Any) || a.Equals(IPAddress.IPv6Any) || a.IsIPv6Multicast || a.IsIPv6LinkLocal)
        {
            return false;
        }
        if (IPAddress.IsLoopback(a))
        {
            return IPAddress.IsLoopback(server.Address);
        }
        if (a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
        {
            byte[] b = a.GetAddressBytes();
            return b[0] < 224 && !(b[0] == 169 && b[1] == 254);
        }
        return true;
    }
}
