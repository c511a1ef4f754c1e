using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Pinhole.Nat.Relay;

/// <summary>
/// Options for <see cref="RelayServer"/> (the hop role of circuit relay v2). Every limit has a default in line with
/// go-libp2p's relay (<c>relay/resources.go</c>); <see cref="Validate"/> runs in the constructor and names the bad option.
/// </summary>
public sealed class RelayServerOptions
{
    /// <summary>The relay's identity: it signs the vouchers (required).</summary>
    public NodeIdentity? Identity { get; set; }

    /// <summary>How long a reservation lasts unless refreshed. Default 1 h (go-libp2p; js uses 2 h).</summary>
    public TimeSpan ReservationTtl { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Reservations held at once. Default 128. Over it: RESERVATION_REFUSED.</summary>
    public int MaxReservations { get; set; } = 128;

    /// <summary>
    /// Reservations from one IP address. Default 8; 0 = no per-IP cap. A peer has at most one reservation: a new
    /// RESERVE from the same PeerId (a refresh, or the peer restarted and came back on a new connection) replaces it,
    /// so restarts never use up slots (go-libp2p#2963).
    /// </summary>
    public int MaxReservationsPerIP { get; set; } = 8;

    /// <summary>Limit of every relayed circuit, announced to both peers; null relays without limits. Default 2 min and 128 KiB per direction.</summary>
    public ConnectionLimit? CircuitLimit { get; set; } = new(TimeSpan.FromMinutes(2), 128 * 1024);

    /// <summary>Circuits open at once. Default 1024. Over it: RESOURCE_LIMIT_EXCEEDED.</summary>
    public int MaxCircuits { get; set; } = 1024;

    /// <summary>Circuits one peer takes part in (as initiator or target). Default 16. Over it: RESOURCE_LIMIT_EXCEEDED.</summary>
    public int MaxCircuitsPerPeer { get; set; } = 16;

    /// <summary>A hop request (and the stop exchange it starts) must complete within this. Default 30 s.</summary>
    public TimeSpan HopTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Peers allowed to reserve; null allows everyone. Others get PERMISSION_DENIED.</summary>
    public Func<PeerId, bool>? ReservationFilter { get; set; }

    /// <summary>
    /// The relay's public addresses, each ending in <c>/p2p/&lt;relay&gt;</c>, sent in reservations so clients can build
    /// their circuit addresses. Default none: clients then use the address they dialed.
    /// </summary>
    public Func<IReadOnlyList<Multiaddr>>? PublicAddresses { get; set; }

    /// <summary>Time source for expiry, deadlines and duration limits.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Logging.</summary>
    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;

    /// <summary>Creates the relay's meter (<c>Pinhole.Nat.Relay</c>); null makes a private one.</summary>
    public IMeterFactory? MeterFactory { get; set; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (Identity is null)
        {
            throw new ArgumentException($"{nameof(Identity)} is required: the relay signs reservation vouchers.", nameof(Identity));
        }
        if (ReservationTtl < TimeSpan.FromSeconds(1))
        {
            throw new ArgumentOutOfRangeException(nameof(ReservationTtl), ReservationTtl, "Must be at least 1 s.");
        }
        AtLeast(MaxReservations, 1, nameof(MaxReservations));
        AtLeast(MaxReservationsPerIP, 0, nameof(MaxReservationsPerIP));
        AtLeast(MaxCircuits, 1, nameof(MaxCircuits));
        AtLeast(MaxCircuitsPerPeer, 1, nameof(MaxCircuitsPerPeer));
        if (HopTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(HopTimeout), HopTimeout, "Must be positive.");
        }
        if (CircuitLimit?.Duration is { } d && (d < TimeSpan.FromSeconds(1) || d.TotalSeconds > uint.MaxValue))
        {
            throw new ArgumentOutOfRangeException(nameof(CircuitLimit), CircuitLimit, "The duration limit is sent in whole seconds: at least 1 s.");
        }
        if (CircuitLimit?.Data is 0)
        {
            throw new ArgumentOutOfRangeException(nameof(CircuitLimit), CircuitLimit, "A data limit of 0 means none on the wire: use null.");
        }
        ArgumentNullException.ThrowIfNull(TimeProvider, nameof(TimeProvider));
        ArgumentNullException.ThrowIfNull(LoggerFactory, nameof(LoggerFactory));
    }

    private static void AtLeast(int value, int min, string name)
    {
        if (value < min)
        {
            throw new ArgumentOutOfRangeException(name, value, $"Must be at least {min}.");
        }
    }
}
