namespace Pinhole.Nat.Relay;

/// <summary>Options for <see cref="RelayClient"/> (the client side of circuit relay v2: reserve, accept, dial through).</summary>
public sealed class RelayClientOptions
{
    /// <summary>
    /// This node's identity and the settings of every relayed connection (required). Its time source and logging are the
    /// client's too. Relayed connections are usually limited: only <see cref="PeerConnectionOptions.LimitedConnectionProtocols"/>
    /// (plus ping and identify) run on them, so add <c>/libp2p/dcutr</c> there to let hole punching upgrade them.
    /// </summary>
    public PeerConnectionOptions? ConnectionOptions { get; set; }

    /// <summary>Hop and stop exchanges (before the end-to-end upgrade) must finish within this. Default 30 s.</summary>
    public TimeSpan HopTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Refresh a reservation this long before it expires, but never later than halfway through what is left. Default 5 min
    /// (js-libp2p's margin; go refreshes with 2 min left).
    /// </summary>
    public TimeSpan RefreshBefore { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>After a failed refresh, try again after this (until the reservation expires). Default 10 s.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Relayed connections accepted but not yet taken by <see cref="RelayClient.AcceptAsync"/>. Default 64; beyond, CONNECTION_FAILED.</summary>
    public int AcceptQueueLength { get; set; } = 64;

    /// <summary>Accept circuits only from relays we hold a reservation on (others get PERMISSION_DENIED). Default true.</summary>
    public bool AcceptOnlyReservedRelays { get; set; } = true;

    /// <summary>
    /// Check the voucher of every reservation (signed by the relay, for us, with the reservation's expiry) and refuse the
    /// reservation if it does not verify. A reservation without a voucher is accepted. Default true.
    /// </summary>
    public bool VerifyVouchers { get; set; } = true;

    /// <summary>The listen addresses identify reports on relayed connections (default none).</summary>
    public Func<IReadOnlyList<Multiaddr>>? ListenAddresses { get; set; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (ConnectionOptions is null)
        {
            throw new ArgumentException($"{nameof(ConnectionOptions)} is required.", nameof(ConnectionOptions));
        }
        ConnectionOptions.Validate();
        Positive(HopTimeout, nameof(HopTimeout));
        Positive(RetryDelay, nameof(RetryDelay));
        if (RefreshBefore < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(RefreshBefore), RefreshBefore, "Must not be negative.");
        }
        if (AcceptQueueLength < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(AcceptQueueLength), AcceptQueueLength, "Must be at least 1.");
        }
    }

    private static void Positive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(name, value, "Must be positive.");
        }
    }
}
