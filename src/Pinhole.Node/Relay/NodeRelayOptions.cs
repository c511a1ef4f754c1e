using Pinhole.Nat.Relay;

namespace Pinhole.Node;

/// <summary>
/// Circuit relay v2 and DCUtR for a node (<see cref="NodeRelayExtensions.UseRelays"/>): relays to reserve a slot on when
/// the node is not publicly reachable, whether to serve as a relay itself, and hole punching of relayed connections.
/// </summary>
public sealed class NodeRelayOptions
{
    /// <summary>Relays to reserve on, each a full address ending in <c>/p2p/&lt;relay&gt;</c> (e.g. <c>/ip4/198.51.100.1/tcp/4001/p2p/12D3…</c>).</summary>
    public IList<Multiaddr> Relays { get; init; } = [];

    /// <summary>Whether to reserve: <see cref="NodeReachability.Auto"/> (default) reserves when a relay sees us at an address that is not our own.</summary>
    public NodeReachability Reachability { get; set; } = NodeReachability.Auto;

    /// <summary>Serve as a relay (hop) for other peers. Default false.</summary>
    public bool ServeRelay { get; set; }

    /// <summary>Adjusts the relay server's limits (reservations, circuits, per-circuit limit) when <see cref="ServeRelay"/> is set.</summary>
    public Action<RelayServerOptions>? ConfigureServer { get; set; }

    /// <summary>
    /// Upgrade relayed connections to direct ones with DCUtR (TCP simultaneous open from the listen port; the node's
    /// listener is then bound with SO_REUSEPORT). Default true.
    /// </summary>
    public bool HolePunching { get; set; } = true;

    /// <summary>DCUtR attempts per relayed connection. Default 3 (the spec).</summary>
    public int PunchAttempts { get; set; } = 3;

    /// <summary>How long one punch may take (connect and handshake). Default 5 s.</summary>
    public TimeSpan PunchTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>After a relay could not be reached or a reservation was lost, try again after this. Default 30 s.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    internal void Validate()
    {
        foreach (var relay in Relays)
        {
            if (!relay.TryGetPeerId(out _) || CircuitAddress.IsCircuit(relay))
            {
                throw new ArgumentException($"Relay address '{relay}' must be a direct address ending in /p2p/<relay PeerId>.", nameof(Relays));
            }
        }
        if (PunchAttempts is < 1 or > 10)
        {
            throw new ArgumentOutOfRangeException(nameof(PunchAttempts), PunchAttempts, "Must be from 1 to 10.");
        }
        if (PunchTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(PunchTimeout), PunchTimeout, "Must be positive.");
        }
        if (RetryDelay <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(RetryDelay), RetryDelay, "Must be positive.");
        }
    }
}

/// <summary>Whether the node is reachable without a relay.</summary>
public enum NodeReachability
{
    /// <summary>Decide from what each relay observes: reserve when it sees an address that is not one of ours (a NAT in between).</summary>
    Auto,
    /// <summary>Reachable directly: never reserve.</summary>
    Public,
    /// <summary>Behind a NAT or firewall: always reserve.</summary>
    Private,
}
