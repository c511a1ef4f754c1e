using System.Net;
using Pinhole.Dtls;
using Pinhole.Vpn.DataPlane;

namespace Pinhole.Vpn;

/*  Handshakes: two DTLS endpoints share the data plane's UDP socket behind type bytes 1 and 2, one that
    only dials and one that only listens, so two peers dialling each other at once simply get two
    sessions (DTLS 1.2 itself cannot do a simultaneous open). The DTLS handshake proves both PeerIds
    (libp2p certificates); its master secret is then exported (RFC 5705) into a keypair: a key and salt
    per direction and a receiver index per side. Keypairs rotate as WireGuard's do: the initiator uses its
    new keypair at once; the responder keeps sending on its current one until the initiator's first
    record on the new one arrives (Confirm).
*/
public sealed partial class VpnInterface
{
    private HandshakeBind? _dialerBind;
    private HandshakeBind? _listenerBind;
    private DtlsEndpoint? _dialer;
    private DtlsEndpoint? _acceptor;
    private DtlsListener? _listener;
    private Task? _acceptLoop;
    private readonly List<Task> _handshakeTasks = [];
    private readonly Lock _tasksLock = new();

    /// <summary>Largest DTLS datagram: fits a 1280-byte IPv6 path with our type byte, so handshakes survive small-MTU paths.</summary>
    internal const int HandshakeDatagramSize = 1280 - 40 - 8 - 1 - 31;

    private Task StartHandshakesAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        _dialerBind = new HandshakeBind(_transport, WireFormat.HandshakeToListener);
        _listenerBind = new HandshakeBind(_transport, WireFormat.HandshakeToDialer);
        _dialer = DtlsEndpoint.Create(Dtls(_dialerBind));
        DtlsEndpointOptions acceptorOptions = Dtls(_listenerBind);
        // Refused inside the handshake, so a stranger's dial fails rather than completing and being dropped after.
        acceptorOptions.AcceptPeer = (peer, _) => FindPeer(peer) is not null;
        _acceptor = DtlsEndpoint.Create(acceptorOptions);
        _listener = _acceptor.Listen();
        _acceptLoop = Task.Run(AcceptLoopAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    private DtlsEndpointOptions Dtls(HandshakeBind bind) => new()
    {
        Identity = _options.Identity,
        Bind = bind,
        TimeProvider = _time,
        LoggerFactory = _options.LoggerFactory,
        MaxDatagramSize = HandshakeDatagramSize,
        HandshakeTimeout = _timings.RekeyTimeout,
        InitialRetransmitTimeout = TimeSpan.FromMilliseconds(500),
        MaxRetransmitTimeout = TimeSpan.FromSeconds(2),
        // A session only carries the handshake; it is closed after HandshakeLinger.
        IdleTimeout = _timings.HandshakeLinger * 3,
    };

    private async Task StopHandshakesAsync()
    {
        if (_listener is not null)
        {
            await _listener.DisposeAsync().ConfigureAwait(false);
        }
        if (_acceptLoop is not null)
        {
            await _acceptLoop.ConfigureAwait(false);
        }
        Task[] running;
        lock (_tasksLock)
        {
            running = [.. _handshakeTasks];
        }
        await Task.WhenAll(running).ConfigureAwait(false);
        if (_dialer is not null)
        {
            await _dialer.DisposeAsync().ConfigureAwait(false);
        }
        if (_acceptor is not null)
        {
            await _acceptor.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Starts a handshake with <paramref name="peer"/> unless one runs or one started less than RekeyTimeout ago (unless
    /// <paramref name="force"/>). True if it started one.
    /// </summary>
    private bool RequestHandshake(Peer peer, bool force)
    {
        UdpAddress? endpoint = peer.Endpoint;
        if (endpoint is null || IsStopping || Volatile.Read(ref peer.HandshakeInFlight) != 0)
        {
            return false;
        }
        long now = _time.GetTimestamp();
        long last = Interlocked.Read(ref peer.LastHandshakeAttempt);
        if (!force && last != 0 && _time.GetElapsedTime(last, now) < _timings.RekeyTimeout)
        {
            return false;
        }
        if (Interlocked.CompareExchange(ref peer.HandshakeInFlight, 1, 0) != 0)
        {
            return false;
        }
        Interlocked.Exchange(ref peer.LastHandshakeAttempt, now);
        Track(Task.Run(() => DialAsync(peer, endpoint)));
        return true;
    }

    private void Track(Task task)
    {
        lock (_tasksLock)
        {
            _handshakeTasks.RemoveAll(t => t.IsCompleted);
            _handshakeTasks.Add(task);
        }
    }

    private async Task DialAsync(Peer peer, UdpAddress endpoint)
    {
        try
        {
            DtlsConnection connection = await _dialer!.ConnectAsync(endpoint.EndPoint, peer.Id, _stop.Token).ConfigureAwait(false);
            Install(peer, connection, initiator: true);
        }
        catch (PeerException e)
        {
            peer.LastHandshakeError = e.Message;
            if (!RelayTransport.IsRelay(endpoint))
            {
                Interlocked.Increment(ref peer.DirectFailures);
            }
            VpnLog.HandshakeFailed(_logger, peer.ToString(), endpoint.EndPoint, e.Message);
        }
        catch (Exception e) when ((e is OperationCanceledException or ObjectDisposedException) && IsStopping)
        {
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
            // Not our stop: the session was torn down under the handshake (e.g. the peer refused us). Say so in
            // the peer's status rather than leaving the failure silent.
            string message = $"The handshake was aborted: {e.Message}";
            peer.LastHandshakeError = message;
            VpnLog.HandshakeFailed(_logger, peer.ToString(), endpoint.EndPoint, message);
        }
        finally
        {
            Volatile.Write(ref peer.HandshakeInFlight, 0);
            if (!IsStopping)
            {
                CheckDeadPeer(peer, _time.GetTimestamp());
            }
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!IsStopping)
        {
            DtlsConnection connection;
            try
            {
                connection = await _listener!.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or PeerException)
            {
                return;
            }
            Peer? peer = FindPeer(connection.RemotePeer);
            if (peer is null)
            {
                VpnLog.UnknownPeer(_logger, connection.RemotePeer, connection.RemoteEndPoint);
                await connection.DisposeAsync().ConfigureAwait(false);
                continue;
            }
            try
            {
                Install(peer, connection, initiator: false);
            }
            catch (PeerException e)
            {
                peer.LastHandshakeError = e.Message;
                VpnLog.HandshakeFailed(_logger, peer.ToString(), connection.RemoteEndPoint as IPEndPoint, e.Message);
            }
        }
    }

    // Exports the keypair from a completed DTLS session and rotates it in.
    private void Install(Peer peer, DtlsConnection connection, bool initiator)
    {
        Track(LingerAsync(connection));
        Span<byte> material = stackalloc byte[Keypair.MaterialLength];
        connection.ExportKeyingMaterial(Keypair.ExporterLabel, Keypair.ExporterContext, material);
        long now = _time.GetTimestamp();
        Keypair? keypair = Keypair.Create(peer, material, initiator, now);
        if (keypair is null || !_indices.TryAdd(keypair.LocalIndex, keypair))
        {
            keypair?.Dispose();
            VpnLog.IndexCollision(_logger, peer.ToString());
            return;
        }
        if (!ReferenceEquals(FindPeer(peer.Id), peer) || IsStopping)
        {
            Unlink(keypair);
            return;
        }
        lock (peer.Lock)
        {
            Keypair? previous = peer.Previous, current = peer.Current, next = peer.Next;
            if (initiator)
            {
                if (next is not null)
                {
                    peer.Next = null;
                    peer.Previous = next;
                    Unlink(current);
                }
                else
                {
                    peer.Previous = current;
                }
                Unlink(previous);
                peer.Current = keypair;
            }
            else
            {
                peer.Next = keypair;
                Unlink(next);
                peer.Previous = null;
                Unlink(previous);
            }
            Interlocked.Exchange(ref peer.LastHandshake, now);
            peer.Handshakes++;
            if (connection.RemoteEndPoint is IPEndPoint remote && !RelayTransport.IsRelay(_transport.Resolve(remote)))
            {
                Volatile.Write(ref peer.DirectFailures, 0);
            }
            peer.LastHandshakeError = null;
        }
        if (!initiator && connection.RemoteEndPoint is IPEndPoint from
            && _transport.Resolve(from) is var proven && !peer.IsFormerRelay(proven))
        {
            // The handshake proved the peer at this address (unless it came over a relay stream replaced since).
            peer.Endpoint = proven;
        }
        VpnLog.HandshakeComplete(_logger, peer.ToString(), (connection.RemoteEndPoint as IPEndPoint)!, initiator ? "initiator" : "responder");
        _transport.Wake(); // records for this keypair may be held by the receive loop
        if (initiator)
        {
            // The first record on the new keypair confirms it to the responder: queued packets, or a keepalive.
            if (peer.HasStaged)
            {
                FlushStaged(peer);
            }
            else
            {
                SendControl(peer, []);
            }
        }
    }

    // The receive loop saw the first record on a responder's new keypair: it becomes current.
    private void Confirm(Peer peer, Keypair keypair)
    {
        lock (peer.Lock)
        {
            if (!ReferenceEquals(peer.Next, keypair))
            {
                return;
            }
            Keypair? old = peer.Previous;
            peer.Previous = peer.Current;
            peer.Current = keypair;
            peer.Next = null;
            Unlink(old);
        }
        if (peer.HasStaged)
        {
            FlushStaged(peer);
        }
    }

    private async Task LingerAsync(DtlsConnection connection)
    {
        try
        {
            await Task.Delay(_timings.HandshakeLinger, _time, _stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        await connection.DisposeAsync().ConfigureAwait(false);
    }

    // Removes a keypair from the index table and frees it once no data thread can hold it.
    private void Unlink(Keypair? keypair)
    {
        if (keypair is null)
        {
            return;
        }
        _indices.TryRemove(new KeyValuePair<uint, Keypair>(keypair.LocalIndex, keypair));
        _reclaimer.Retire(keypair);
    }

    private void RetireAll(Peer peer)
    {
        lock (peer.Lock)
        {
            Unlink(peer.Previous);
            Unlink(peer.Current);
            Unlink(peer.Next);
            peer.Previous = peer.Current = peer.Next = null;
        }
    }
}
