using Microsoft.Extensions.Logging;

namespace Pinhole.Nat;

/// <summary>Settings of a <see cref="StunClient"/>: the RFC 8489 §6.2.1 retransmission schedule and limits.</summary>
public sealed class StunClientOptions
{
    /// <summary>Clock for retransmissions and timeouts. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Logging; default none.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>RTO, the first retransmission timeout; doubles after each send. Default 500 ms (RFC 8489 §6.2.1).</summary>
    public TimeSpan InitialRetransmitTimeout { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Rc, how many times a request is sent in all. Default 7.</summary>
    public int MaxSends { get; set; } = 7;

    /// <summary>Rm: after the last send the client waits this many RTOs for an answer. Default 16.</summary>
    public int FinalWaitMultiplier { get; set; } = 16;

    /// <summary>Requests in flight at once; more fail with <see cref="PeerError.LimitExceeded"/>. Default 1024.</summary>
    public int MaxPendingTransactions { get; set; } = 1024;

    /// <summary>
    /// The longest a transaction can take with these settings: RTO × (2^Rc − 1 + Rm) when the RTO doubles after
    /// every send (39.5 s with the defaults).
    /// </summary>
    public TimeSpan TransactionTimeout => InitialRetransmitTimeout * ((1 << (MaxSends - 1)) - 1 + FinalWaitMultiplier);

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(TimeProvider, nameof(TimeProvider));
        if (InitialRetransmitTimeout <= TimeSpan.Zero || InitialRetransmitTimeout > TimeSpan.FromMinutes(1))
        {
            throw new ArgumentOutOfRangeException(nameof(InitialRetransmitTimeout), InitialRetransmitTimeout, "Must be positive and at most one minute.");
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxSends, 1, nameof(MaxSends));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxSends, 16, nameof(MaxSends));
        ArgumentOutOfRangeException.ThrowIfLessThan(FinalWaitMultiplier, 1, nameof(FinalWaitMultiplier));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(FinalWaitMultiplier, 64, nameof(FinalWaitMultiplier));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxPendingTransactions, 1, nameof(MaxPendingTransactions));
    }
}
