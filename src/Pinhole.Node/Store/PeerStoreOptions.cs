using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Pinhole.Node;

/// <summary>Limits and clock of a <see cref="PeerStore"/>.</summary>
public sealed class PeerStoreOptions
{
    /// <summary>Peers kept. When full, a new peer evicts the least recently seen one that is not pinned. Default 10,000.</summary>
    public int MaxPeers { get; set; } = 10_000;

    /// <summary>Addresses kept per peer; configured ones are never evicted. Default 32.</summary>
    public int MaxAddressesPerPeer { get; set; } = 32;

    /// <summary>How long a write waits for another writer (another process on the same file) before failing. Default 10 s.</summary>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Clock for first/last-seen and dial times.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Logging.</summary>
    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;

    internal void Validate()
    {
        if (MaxPeers < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxPeers), MaxPeers, "Must be at least 1.");
        }
        if (MaxAddressesPerPeer < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxAddressesPerPeer), MaxAddressesPerPeer, "Must be at least 1.");
        }
        if (BusyTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(BusyTimeout), BusyTimeout, "Must be positive.");
        }
        ArgumentNullException.ThrowIfNull(TimeProvider, nameof(TimeProvider));
        ArgumentNullException.ThrowIfNull(LoggerFactory, nameof(LoggerFactory));
    }
}
