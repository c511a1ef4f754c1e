using Microsoft.Extensions.Logging;

namespace Pinhole.Dtls;

/// <summary>Settings of a <see cref="DtlsEndpoint"/>; validated by <see cref="DtlsEndpoint.Create"/>.</summary>
public sealed class DtlsEndpointOptions
{
    /// <summary>Smallest datagram size OpenSSL accepts for DTLS.</summary>
    public const int MinDatagramSize = 256;

    /// <summary>Largest UDP payload over IPv4.</summary>
    public const int MaxDatagramSizeLimit = 65507;

    /// <summary>This node's identity; its certificate is made from it. Required.</summary>
    public NodeIdentity? Identity { get; set; }

    /// <summary>The datagram layer underneath (UDP socket, in-memory network, relay). Required.</summary>
    public IDatagramBind? Bind { get; set; }

    /// <summary>If false (default) disposing the endpoint disposes <see cref="Bind"/>.</summary>
    public bool LeaveBindOpen { get; set; }

    /// <summary>Clock for every timer of the layer. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Logging; default none.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>
    /// Largest datagram the layer sends (UDP payload bytes), handshake and data alike. Default 1452: fits a
    /// 1500-byte path over IPv6 (1500 - 40 - 8). An application packet may use this minus the record
    /// overhead (37 bytes with AES-GCM); see <see cref="DtlsConnection.MaxPacketSize"/>.
    /// </summary>
    public int MaxDatagramSize { get; set; } = 1452;

    /// <summary>How long a handshake may take, both roles. Default 10 s.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>First handshake retransmission timeout; doubles on each retry (RFC 6347 §4.2.4.1). Default 1 s.</summary>
    public TimeSpan InitialRetransmitTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Ceiling of the retransmission backoff. Default 8 s.</summary>
    public TimeSpan MaxRetransmitTimeout { get; set; } = TimeSpan.FromSeconds(8);

    /// <summary>
    /// A session that receives no authentic datagram for this long is closed (callers send keepalives if they
    /// want it open). <see cref="Timeout.InfiniteTimeSpan"/> disables it. Default 3 minutes.
    /// </summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(3);

    /// <summary>Most sessions (both roles, handshaking or established) at once. Default 1024.</summary>
    public int MaxSessions { get; set; } = 1024;

    /// <summary>
    /// Server sessions whose cookie verified but whose handshake has not finished ("half-open"). When full, or when
    /// <see cref="MaxSessions"/> is reached, the least advanced half-open session of the busiest source is evicted
    /// before a newcomer that proved its address is refused (docs/reliability.md). Default 256.
    /// </summary>
    public int MaxHalfOpenSessions { get; set; } = 256;

    /// <summary>Half-open server sessions one source address (IPv4 address, IPv6 /64) may hold. Default 8.</summary>
    public int MaxHalfOpenSessionsPerAddress { get; set; } = 8;

    /// <summary>Sustained handshakes per second accepted from one source IP address (after its cookie verified). Default 2.</summary>
    public double HandshakesPerSecondPerAddress { get; set; } = 2;

    /// <summary>Handshakes one source IP address may start in a burst. Default 10.</summary>
    public int HandshakeBurstPerAddress { get; set; } = 10;

    /// <summary>Received packets queued per connection before new ones are dropped. Default 1024.</summary>
    public int ReceiveQueueCapacity { get; set; } = 1024;

    /// <summary>Established incoming connections waiting for <see cref="DtlsListener.AcceptAsync"/>. Default 64.</summary>
    public int AcceptQueueCapacity { get; set; } = 64;

    /// <summary>How often the cookie secret rotates (a cookie stays valid up to twice this). Default 60 s.</summary>
    public TimeSpan CookieSecretLifetime { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Decides, inside the handshake, whether an incoming peer may connect: called with the PeerId its certificate
    /// proved and its address, before the handshake completes. Returning false (or throwing) fails the handshake
    /// with an alert, so the dialer's <see cref="DtlsEndpoint.ConnectAsync"/> fails and never sees an established
    /// session. Called on the receive path under the session's lock: keep it fast and non-blocking. Default null:
    /// every authenticated peer is accepted. Not consulted for outgoing sessions, which name their peer.
    /// </summary>
    public Func<PeerId, System.Net.EndPoint, bool>? AcceptPeer { get; set; }

    /// <summary>Tests only: present this certificate instead of a fresh libp2p one (e.g. a forged one).</summary>
    internal System.Security.Cryptography.X509Certificates.X509Certificate2? CertificateOverride { get; set; }

    internal void Validate()
    {
        if (Identity is null)
        {
            throw new ArgumentException("DtlsEndpointOptions.Identity is required.", nameof(Identity));
        }
        if (Bind is null)
        {
            throw new ArgumentException("DtlsEndpointOptions.Bind is required.", nameof(Bind));
        }
        ArgumentNullException.ThrowIfNull(TimeProvider, nameof(TimeProvider));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxDatagramSize, MinDatagramSize, nameof(MaxDatagramSize));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxDatagramSize, MaxDatagramSizeLimit, nameof(MaxDatagramSize));
        Positive(HandshakeTimeout, nameof(HandshakeTimeout));
        Positive(InitialRetransmitTimeout, nameof(InitialRetransmitTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxRetransmitTimeout, InitialRetransmitTimeout, nameof(MaxRetransmitTimeout));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxRetransmitTimeout, TimeSpan.FromMinutes(60), nameof(MaxRetransmitTimeout));
        if (IdleTimeout != Timeout.InfiniteTimeSpan)
        {
            Positive(IdleTimeout, nameof(IdleTimeout));
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxSessions, 1, nameof(MaxSessions));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxHalfOpenSessions, 1, nameof(MaxHalfOpenSessions));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxHalfOpenSessionsPerAddress, 1, nameof(MaxHalfOpenSessionsPerAddress));
        if (!(HandshakesPerSecondPerAddress > 0) || double.IsInfinity(HandshakesPerSecondPerAddress))
        {
            throw new ArgumentOutOfRangeException(nameof(HandshakesPerSecondPerAddress), HandshakesPerSecondPerAddress, "Must be a positive finite rate.");
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(HandshakeBurstPerAddress, 1, nameof(HandshakeBurstPerAddress));
        ArgumentOutOfRangeException.ThrowIfLessThan(ReceiveQueueCapacity, 1, nameof(ReceiveQueueCapacity));
        ArgumentOutOfRangeException.ThrowIfLessThan(AcceptQueueCapacity, 1, nameof(AcceptQueueCapacity));
        Positive(CookieSecretLifetime, nameof(CookieSecretLifetime));
    }

    private static void Positive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(name, value, "Must be positive.");
        }
    }
}
