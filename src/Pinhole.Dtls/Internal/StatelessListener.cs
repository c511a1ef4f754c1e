using System.Net;
using Pinhole.Connections;
using Pinhole.Dtls.Native;

namespace Pinhole.Dtls.Internal;

/// <summary>
/// Answers ClientHellos from sources without a session, keeping no per-source state: one reusable SSL
/// object runs DTLSv1_listen on each datagram. A ClientHello without a valid cookie gets a
/// HelloVerifyRequest carrying HMAC(secret, source address) and is forgotten. Only when a ClientHello
/// echoes a valid cookie (the source can receive at its address) does the SSL object become that
/// source's session, after the rate limit and session cap agree; a fresh listening SSL replaces it.
/// Runs on the endpoint's receive loop only.
/// </summary>
internal sealed class StatelessListener : IDtlsCallbackTarget, IDisposable
{
    private readonly DtlsEndpoint _endpoint;
    private readonly CookieSecret _cookies;
    private readonly HandshakeRateLimiter _rateLimiter;
    private readonly SafeBioAddrHandle _clientAddress;
    private readonly LogThrottle _refusalLog;
    private NativeDtlsSession _listening;
    private EndPoint? _source;

    internal StatelessListener(DtlsEndpoint endpoint)
    {
        _endpoint = endpoint;
        DtlsEndpointOptions options = endpoint.Options;
        _cookies = endpoint.Cookies;
        _rateLimiter = new HandshakeRateLimiter(options.TimeProvider, options.HandshakesPerSecondPerAddress, options.HandshakeBurstPerAddress, maxEntries: 16 * 1024);
        _refusalLog = new LogThrottle(options.TimeProvider, LogThrottle.DefaultInterval);
        _clientAddress = LibCrypto.BIO_ADDR_new();
        OpenSslError.ThrowIf(_clientAddress.IsInvalid, "BIO_ADDR_new");
        _listening = NewListeningSession();
    }

    /// <summary>Datagrams from unknown sources dropped because they were not a ClientHello.</summary>
    internal long Dropped { get; private set; }

    /// <summary>HelloVerifyRequests sent.</summary>
    internal long HelloVerifyRequests { get; private set; }

    /// <summary>Source addresses tracked by the handshake rate limiter (only cookie-verified ones).</summary>
    internal int RateLimiterEntries => _rateLimiter.Count;

    /// <summary>
    /// Handles a datagram from <paramref name="source"/>, which has no session. Returns a reply to send (the
    /// HelloVerifyRequest) or null; sets <paramref name="accepted"/> to the new server-side session if any.
    /// </summary>
    /// <param name="source">Where the datagram came from.</param>
    /// <param name="datagram">The datagram.</param>
    /// <param name="replacing">True if the new session would replace the source's current one (it does not count against the cap).</param>
    /// <param name="accepted">The new session, if the cookie verified and the limits agreed.</param>
    internal byte[]? OnDatagram(EndPoint source, ReadOnlySpan<byte> datagram, bool replacing, out NativeDtlsSession? accepted)
    {
        int first = DtlsRecord.RecordLength(datagram);
        AcceptedRecord = Range.All;
        if (first < 0 || first == datagram.Length)
        {
            return OnRecord(source, datagram, replacing, out accepted);
        }
        // A datagram may carry several records (RFC 6347 §4.1.1), and DTLSv1_listen reads only the first. A
        // client whose retransmission timer fired as the HelloVerifyRequest arrived packs its old ClientHello
        // before the one that echoes the cookie: looking at the first record only, we answered the old one
        // again and the handshake waited a whole retransmission timeout. So each record is heard in turn (at
        // most MaxClientHellosPerDatagram, a bound on the work one datagram can ask for) until one opens a
        // session; the HelloVerifyRequests for the records before it are then not sent.
        byte[]? reply = null;
        accepted = null;
        int offset = 0;
        for (int records = 0; records < MaxClientHellosPerDatagram && offset < datagram.Length; records++)
        {
            int length = DtlsRecord.RecordLength(datagram[offset..]);
            if (length < 0)
            {
                break;
            }
            reply = OnRecord(source, datagram.Slice(offset, length), replacing, out accepted) ?? reply;
            if (accepted is not null)
            {
                AcceptedRecord = new Range(offset, offset + length);
                return null;
            }
            offset += length;
        }
        return reply;
    }

    /// <summary>Where, in the datagram last handled, the ClientHello that opened the accepted session is.</summary>
    internal Range AcceptedRecord { get; private set; } = Range.All;

    /// <summary>Records of one datagram heard by the stateless listener; the rest are dropped.</summary>
    internal const int MaxClientHellosPerDatagram = 4;

    private byte[]? OnRecord(EndPoint source, ReadOnlySpan<byte> datagram, bool replacing, out NativeDtlsSession? accepted)
    {
        accepted = null;
        if (!DtlsRecord.IsClientHello(datagram))
        {
            Dropped++;
            return null;
        }
        int result;
        byte[]? reply = null;
        using (DtlsCallbacks.Enter(this))
        {
            _source = source;
            LibCrypto.ERR_clear_error();
            _listening.FeedDatagram(datagram);
            result = _listening.Listen(_clientAddress);
            int pending = _listening.PendingOutput;
            if (pending > 0)
            {
                reply = new byte[pending];
                reply = reply.AsSpan(0, _listening.ReadOutput(reply)).ToArray();
                HelloVerifyRequests++;
            }
            _source = null;
        }
        if (result <= 0)
        {
            _listening.DiscardInput();
            if (result < 0)
            {
                // A malformed ClientHello can leave the object in an error state: start afresh.
                _ = OpenSslError.Drain(string.Empty);
                ReplaceListening();
            }
            return reply;
        }

        NativeDtlsSession candidate = _listening;
        _listening = NewListeningSession();
        // The source proved it receives at its address. Like WireGuard under load, only such sources get state,
        // and half-open sessions (cookie answered, then silence) give way before a proven source is refused.
        (string Word, string Text)? refusal = !_endpoint.HasAcceptRoom ? ("accept_queue_full", "the accept queue is full")
            : !_rateLimiter.TryAcquire(source) ? ("rate_limit", "handshake rate limit for this address")
            : null;
        if (refusal is null && _endpoint.SessionCount - (replacing ? 1 : 0) >= _endpoint.Options.MaxSessions
            && !_endpoint.HalfOpen.EvictLeastAdvanced())
        {
            refusal = ("session_limit", "too many sessions, none of them half-open");
        }
        HandshakeAdmission.Ticket? ticket = null;
        if (refusal is null)
        {
            refusal = _endpoint.HalfOpen.TryAdmit(AddressKey.From(source), out ticket) switch
            {
                AdmissionRefusal.AddressLimit => ("handshake_address_limit", "too many half-open sessions from this address"),
                AdmissionRefusal.BudgetFull => ("handshake_budget", "too many half-open sessions, this source holding as many as any"),
                _ => null,
            };
        }
        if (refusal is { } r)
        {
            AdmissionMetrics.CountRefused("udp", r.Word);
            if (_refusalLog.ShouldLog(out long suppressed))
            {
                DtlsLog.Refused(_endpoint.Logger, source, $"{r.Text} ({suppressed} more refusals since the last report)");
            }
            candidate.Dispose();
            return reply;
        }
        accepted = candidate;
        HalfOpenTicket = ticket;
        return reply;
    }

    /// <summary>The half-open budget's ticket of the session just accepted (taken by the endpoint).</summary>
    internal HandshakeAdmission.Ticket? HalfOpenTicket { get; set; }

    private void ReplaceListening()
    {
        _listening.Dispose();
        _listening = NewListeningSession();
    }

    private NativeDtlsSession NewListeningSession()
    {
        NativeDtlsSession session = _endpoint.CreateNativeSession();
        session.SetAcceptState();
        session.EnableCookieExchange();
        return session;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _listening.Dispose();
        _clientAddress.Dispose();
    }

    bool IDtlsCallbackTarget.VerifyPeerCertificate(ReadOnlySpan<byte> certificateDer) => false;

    int IDtlsCallbackTarget.GenerateCookie(Span<byte> cookie) => _source is null ? -1 : _cookies.Generate(_source, cookie);

    bool IDtlsCallbackTarget.VerifyCookie(ReadOnlySpan<byte> cookie) => _source is not null && _cookies.Verify(_source, cookie);

    uint IDtlsCallbackTarget.NextRetransmitTimeout(uint previousMicroseconds) => _endpoint.NextRetransmitTimeout(previousMicroseconds);
}
