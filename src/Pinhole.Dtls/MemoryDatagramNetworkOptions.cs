namespace Pinhole.Dtls;

/// <summary>Knobs of a <see cref="MemoryDatagramNetwork"/>; rates are probabilities per datagram in [0, 1].</summary>
public sealed class MemoryDatagramNetworkOptions
{
    /// <summary>Probability that a datagram is dropped. Default 0.</summary>
    public double LossRate { get; set; }

    /// <summary>Probability that a datagram is delivered twice. Default 0.</summary>
    public double DuplicateRate { get; set; }

    /// <summary>Probability that a datagram is held back and delivered after later ones. Default 0.</summary>
    public double ReorderRate { get; set; }

    /// <summary>How long a reordered datagram is held back at most. Default 20 ms.</summary>
    public TimeSpan MaxReorderDelay { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Seed of the network's random choices, so a failing run can be replayed. Default 1.</summary>
    public int Seed { get; set; } = 1;

    /// <summary>Datagrams queued per bind before new ones are dropped (like a socket buffer). Default 4096.</summary>
    public int QueueCapacity { get; set; } = 4096;

    /// <summary>Clock for reorder delays. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    internal void Validate()
    {
        CheckRate(LossRate, nameof(LossRate));
        CheckRate(DuplicateRate, nameof(DuplicateRate));
        CheckRate(ReorderRate, nameof(ReorderRate));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxReorderDelay, TimeSpan.Zero, nameof(MaxReorderDelay));
        ArgumentOutOfRangeException.ThrowIfLessThan(QueueCapacity, 1, nameof(QueueCapacity));
        ArgumentNullException.ThrowIfNull(TimeProvider, nameof(TimeProvider));
    }

    private static void CheckRate(double rate, string name)
    {
        if (!(rate >= 0 && rate <= 1))
        {
            throw new ArgumentOutOfRangeException(name, rate, "A rate is a probability between 0 and 1.");
        }
    }
}
