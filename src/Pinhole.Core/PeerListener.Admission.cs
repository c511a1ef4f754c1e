using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using Pinhole.Connections;

namespace Pinhole;

/// <summary>
/// Admission: the accept loop decides in a few microseconds what to do with each socket and never waits for
/// a handshake.
/// <code>
/// accept ──► authenticated limits full (total / this address)? ──► refuse: "na" at once, short linger
///        ──► new handshakes per second of this address / its network group over the rate? ──► reset
///        ──► handshake budget: admit (maybe evicting the least advanced slot of the heaviest address) or refuse
///        ──► first byte within FirstByteTimeout ──► multistream ──► TLS (first record checked) ──► key verified
///        ──► limits again, now per peer too: count it, or refuse inside TLS (GoAway) ──► yamux ──► accept queue
/// </code>
/// </summary>
public sealed partial class PeerListener
{
    private const string Transport = "tcp";

    /// <summary>Refusals that may wait for their dialer to close at once; more are reset.</summary>
    internal const int MaxLingeringRefusals = 256;

    /// <summary>How long a refused socket waits for its dialer to read the refusal and close.</summary>
    internal static readonly TimeSpan RefusalLinger = TimeSpan.FromSeconds(2);

    /// <summary>A network group (IPv4 /16, IPv6 /32) may start this many times the handshakes of one address.</summary>
    internal const int GroupRateFactor = 16;

    private readonly LogThrottle _throttle;
    private readonly LogThrottle _failureThrottle;

    /// <summary>Refused sockets waiting (briefly) for their dialer to close.</summary>
    internal int LingeringRefusals => _refuser.Lingering;

    private async Task AcceptLoopAsync(Socket socket)
    {
        var backoff = new AcceptBackoff(_options.TimeProvider);
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await socket.AcceptAsync(_stopping.Token).ConfigureAwait(false);
                backoff.Reset();
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e) when (AcceptBackoff.IsTransient(e))
            {
                continue; // that dialer gave up before we took it
            }
            catch (SocketException e)
            {
                var reason = AcceptBackoff.Describe(e);
                AdmissionMetrics.CountAcceptError(Transport, reason);
                if (_throttle.ShouldLog(out var suppressed))
                {
                    ConnectionLog.AcceptFailed(_logger, reason, e.Message, suppressed);
                }
                if (AcceptBackoff.IsResourceExhaustion(e))
                {
                    // Free a descriptor held by a stranger who has proven nothing yet.
                    _handshakes.EvictLeastAdvanced();
                }
                try
                {
                    await backoff.WaitAsync(_stopping.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                continue;
            }
            if (!DescriptorReserve.Process.HasRoom())
            {
                ShedForDescriptors(client);
                continue;
            }
            Admit(client);
        }
    }

    /// <summary>
    /// The process is short of descriptors (see <see cref="DescriptorReserve"/>): <paramref name="client"/> is reset at
    /// once (a socket with nothing pending closes synchronously) and the least advanced stranger is evicted, so each
    /// such accept gives back more than it took. Admitting the newcomer in the evicted one's place would not: the
    /// evicted handshake closes its socket only when its task next runs, and an accept loop draining a full backlog
    /// never yields to it.
    /// </summary>
    private void ShedForDescriptors(Socket client)
    {
        var evicted = _handshakes.EvictLeastAdvanced();
        AdmissionMetrics.CountDescriptorShortage(Transport, evicted ? "evicted" : "reset");
        AdmissionMetrics.CountRefused(Transport, "descriptors");
        if (_throttle.ShouldLog(out var suppressed))
        {
            ConnectionLog.Refused(_logger, null, "descriptors", suppressed);
        }
        Refuser.Reset(client);
        DescriptorReserve.Process.Returned();
    }

    private void Admit(Socket client)
    {
        IPEndPoint? remote;
        try
        {
            client.NoDelay = true;
            remote = client.RemoteEndPoint as IPEndPoint;
        }
        catch (SocketException)
        {
            client.Dispose(); // reset by the dialer already
            return;
        }
        var key = AddressKey.From(remote);
        var limit = _limits.Precheck(key);
        if (limit != LimitRefusal.None)
        {
            Refuse(client, remote, limit == LimitRefusal.ConnectionLimit ? "connection_limit" : "address_limit");
            return;
        }
        if (!_addressRate.TryTake(key) || !_groupRate.TryTake(key.Group))
        {
            // A flood: the cheapest answer there is, a reset, with no work and no state.
            AdmissionMetrics.CountRefused(Transport, "rate_limit");
            if (_throttle.ShouldLog(out var suppressed))
            {
                ConnectionLog.Refused(_logger, remote, "rate_limit", suppressed);
            }
            Refuser.Reset(client);
            return;
        }
        var refusal = _handshakes.TryAdmit(key, out var ticket, () => client.Available > 0);
        if (refusal != AdmissionRefusal.None)
        {
            Refuse(client, remote, refusal == AdmissionRefusal.AddressLimit ? "handshake_address_limit" : "handshake_budget");
            return;
        }
        _ = HandshakeAsync(client, remote, key, ticket!);
    }

    private void Refuse(Socket client, IPEndPoint? remote, string reason)
    {
        AdmissionMetrics.CountRefused(Transport, reason);
        if (_throttle.ShouldLog(out var suppressed))
        {
            ConnectionLog.Refused(_logger, remote, reason, suppressed);
        }
        _refuser.Refuse(client, ConnectionUpgrader.Refusal, _stopping.Token);
    }

    private string? AdmitAuthenticated(AddressKey key, PeerId peer, ref bool counted)
    {
        var refusal = _limits.TryAdd(key, peer);
        if (refusal == LimitRefusal.None)
        {
            counted = true;
            return null;
        }
        var (word, text) = refusal switch
        {
            LimitRefusal.PeerLimit => ("peer_limit", $"{peer} already has {_options.MaxConnectionsPerPeer} connections (MaxConnectionsPerPeer)"),
            LimitRefusal.AddressLimit => ("address_limit", $"its address already has {_options.MaxConnectionsPerAddress} connections (MaxConnectionsPerAddress)"),
            _ => ("connection_limit", $"the listener is at its connection limit ({_options.MaxConnections})"),
        };
        AdmissionMetrics.CountRefused(Transport, word);
        return "Refused after authentication: " + text + ".";
    }

    private async Task HandshakeAsync(Socket client, IPEndPoint? remote, AddressKey key, HandshakeAdmission.Ticket ticket)
    {
        AdmissionMetrics.HandshakeStarted(Transport);
        var remoteText = remote?.ToString() ?? "?";
        InboundHandshakeStream? raw = null;
        var counted = false;
        PeerId? peer = null;
        using var deadline = new Deadline(_options.HandshakeTimeout, _options.TimeProvider, _stopping.Token);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, ticket.Evicted);
        var firstByte = new Deadline(_options.FirstByteTimeout, _options.TimeProvider, linked.Token);
        var waitingForFirstByte = true;
        try
        {
            var local = client.LocalEndPoint as IPEndPoint;
            // A zero-byte receive waits for data without a buffer: a silent socket costs no memory but the socket.
            await client.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, firstByte.Token).ConfigureAwait(false);
            waitingForFirstByte = false;
            ticket.Advance(HandshakeStage.Negotiating);
            raw = new InboundHandshakeStream(new NetworkStream(client, ownsSocket: true), ticket);
            var stream = raw;
            var upgraded = await ConnectionUpgrader.UpgradeInboundAsync(
                raw, _options, linked.Token,
                stage =>
                {
                    if (stage == HandshakeStage.Securing)
                    {
                        stream.ExpectTlsRecord(); // the stream moves the ticket on once the ClientHello is whole
                    }
                    else
                    {
                        stream.StopTracking();
                        ticket.Advance(stage);
                    }
                },
                remoteKey =>
                {
                    peer = remoteKey.PeerId;
                    return AdmitAuthenticated(key, peer, ref counted);
                }).ConfigureAwait(false);
            // Authenticated: the slot goes back to the budget before anything else can fail.
            ticket.Dispose();
            var connection = new PeerConnection(
                upgraded.Session, upgraded.RemoteKey, _options, isInbound: true, Transport,
                local is null ? null : Multiaddr.FromIPEndPoint(local, Transport),
                remote is null ? null : Multiaddr.FromIPEndPoint(remote, Transport),
                _options.AdvertisedAddresses ?? GetDialableAddresses);
            var peerId = connection.RemotePeer;
            _ = connection.Completion.ContinueWith(
                (_, state) => ((PeerListener)state!)._limits.Remove(key, peerId), this,
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            counted = false; // the continuation uncounts it now
            ConnectionLog.Connected(_logger, "from", peerId, remoteText);
            if (_accepted.Writer.TryWrite(connection))
            {
                AdmissionMetrics.CountAccepted(Transport);
            }
            else
            {
                AdmissionMetrics.CountRefused(Transport, "accept_queue_full");
                ConnectionLog.InboundHandshakeFailed(_logger, remoteText, "accept queue full");
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
#pragma warning disable CA1031 // A background handshake must never take the process down; every failure is counted.
        catch (Exception e)
#pragma warning restore CA1031
        {
            var reason = ticket.WasEvicted ? "evicted"
                : waitingForFirstByte && !linked.IsCancellationRequested && e is OperationCanceledException ? "first_byte_timeout"
                : deadline.Token.IsCancellationRequested && !_stopping.IsCancellationRequested ? "timeout"
                : _stopping.IsCancellationRequested ? "stopping"
                : Classify(e);
            if (reason is not ("stopping" or "refused"))
            {
                AdmissionMetrics.CountHandshakeFailed(Transport, reason);
            }
            ConnectionLog.InboundHandshakeEnded(_logger, remoteText, reason, e.Message);
            if (reason is not ("stopping" or "refused") && _failureThrottle.ShouldLog(out var suppressed))
            {
                ConnectionLog.HandshakeFailures(_logger, remoteText, reason, suppressed);
            }
            if (counted)
            {
                _limits.Remove(key, peer);
            }
            if (raw is not null)
            {
                await raw.DisposeAsync().ConfigureAwait(false);
            }
            else
            {
                client.Dispose();
            }
        }
        finally
        {
            firstByte.Dispose();
            ticket.Dispose();
            AdmissionMetrics.HandshakeEnded(Transport);
        }
    }

    private static string Classify(Exception e) => e switch
    {
        PeerException { Error: PeerError.Refused } => "refused",
        PeerException { Error: PeerError.ProtocolViolation or PeerError.LimitExceeded } => "protocol_violation",
        PeerException { Error: PeerError.HandshakeFailed or PeerError.InvalidCertificate or PeerError.PeerMismatch } => "tls",
        PeerException { Error: PeerError.ConnectionClosed } => "closed",
        AuthenticationException => "tls",
        IOException or SocketException => "closed",
        _ => "error",
    };
}
