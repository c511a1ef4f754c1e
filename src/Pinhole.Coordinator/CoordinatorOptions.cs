using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Pinhole.Coordinator;

/// <summary>Who may create networks on a coordinator.</summary>
public enum NetworkCreationPolicy
{
    /// <summary>Anyone who can reach the admin API (bind it to a trusted interface).</summary>
    Open = 0,
    /// <summary>Only the PeerIds in <see cref="CoordinatorOptions.NetworkCreators"/>.</summary>
    AllowList,
    /// <summary>Nobody: the coordinator serves the networks it has.</summary>
    Closed,
}

/// <summary>Settings of a <see cref="CoordinatorServer"/>; validated by <see cref="CoordinatorServer.StartAsync"/> before anything listens.</summary>
public sealed class CoordinatorOptions
{
    /// <summary>The coordinator's own key (its PeerId goes into invites). Required. It signs nothing of the networks'.</summary>
    public NodeIdentity? Identity { get; set; }

    /// <summary>The store (the caller keeps ownership). Required.</summary>
    public CoordinatorStore? Store { get; set; }

    /// <summary>Where <c>/pinhole/coord/1</c> listens (libp2p TCP+TLS+yamux). Default <c>/ip4/0.0.0.0/tcp/4100</c>.</summary>
    public IList<Multiaddr> ListenAddresses { get; init; } = [];

    /// <summary>The admin REST API's address (<c>https://HOST:PORT</c>, port 0 for any), or null for none. Default none.</summary>
    public Uri? AdminApi { get; set; }

    /// <summary>Who may create networks through the admin API. Default <see cref="NetworkCreationPolicy.Open"/>.</summary>
    public NetworkCreationPolicy NetworkCreation { get; set; } = NetworkCreationPolicy.Open;

    /// <summary>For <see cref="NetworkCreationPolicy.AllowList"/>: the PeerIds allowed to create networks.</summary>
    public IList<PeerId> NetworkCreators { get; init; } = [];

    /// <summary>Clock-skew tolerance for validity checks. Default 5 minutes.</summary>
    public TimeSpan ClockSkew { get; set; } = Pinhole.Membership.NetworkState.DefaultClockSkew;

    /// <summary>How often an idle subscription gets a heartbeat (clients treat 2.5 missed heartbeats as a dead coordinator). Default 30 s.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often a shared store is re-read even without notifications (covers a lost NOTIFY). Default 5 s.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a node's TLS handshake and protocol negotiation may take. Default 10 s.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long one message may take to send before the subscriber is dropped as stuck. Default 60 s.</summary>
    public TimeSpan SendTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Most live connections. Default 20,000.</summary>
    public int MaxConnections { get; set; } = 20_000;

    /// <summary>Most concurrent subscriptions of one PeerId to one network. Default 4.</summary>
    public int MaxSubscriptionsPerPeer { get; set; } = 4;

    /// <summary>Most waiting requests in one recipient's request space. Default 1000.</summary>
    public int MaxRequestsPerRecipient { get; set; } = 1000;

    /// <summary>The clock. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Logging. Default none.</summary>
    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (Identity is null)
        {
            throw new ArgumentException("CoordinatorOptions.Identity is required.");
        }
        if (Store is null)
        {
            throw new ArgumentException("CoordinatorOptions.Store is required.");
        }
        if (AdminApi is not null && (AdminApi.Scheme != Uri.UriSchemeHttps || !AdminApi.IsAbsoluteUri || AdminApi.AbsolutePath != "/"))
        {
            throw new ArgumentException($"CoordinatorOptions.AdminApi must be https://HOST:PORT (TLS with libp2p certificates), not '{AdminApi}'.");
        }
        if (NetworkCreation == NetworkCreationPolicy.AllowList && NetworkCreators.Count == 0)
        {
            throw new ArgumentException("CoordinatorOptions.NetworkCreators must list at least one PeerId with the AllowList policy.");
        }
        if (ClockSkew < TimeSpan.Zero || ClockSkew > TimeSpan.FromHours(1))
        {
            throw new ArgumentException("CoordinatorOptions.ClockSkew must be 0 to 1 hour.");
        }
        if (HeartbeatInterval <= TimeSpan.Zero || PollInterval <= TimeSpan.Zero || SendTimeout <= TimeSpan.Zero || HandshakeTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException("CoordinatorOptions intervals must be positive.");
        }
        if (MaxConnections < 1 || MaxSubscriptionsPerPeer < 1 || MaxRequestsPerRecipient < 1)
        {
            throw new ArgumentException("CoordinatorOptions limits must be at least 1.");
        }
    }
}
