using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Pinhole.Membership;

/// <summary>Settings of a <see cref="MembershipClient"/>; validated before anything connects.</summary>
public sealed class MembershipClientOptions
{
    /// <summary>This node's identity (its PeerId is the member). Required.</summary>
    public NodeIdentity? Identity { get; set; }

    /// <summary>The network. Required for <see cref="MembershipClient.StartAsync"/>; <see cref="MembershipClient.JoinAsync"/> takes it from the invite.</summary>
    public NetworkId? Network { get; set; }

    /// <summary>Coordinator addresses, each ending in <c>/p2p/&lt;PeerId&gt;</c>; tried in turn. An invite's are added on join.</summary>
    public IList<Multiaddr> Coordinators { get; init; } = [];

    /// <summary>Directory for the verified cache (<c>&lt;network&gt;.cache</c>, mode 0600), or null to keep nothing on disk.</summary>
    public string? CacheDirectory { get; set; }

    /// <summary>The key sealed requests are encrypted to (announced in this node's endpoint record), or null to take none.</summary>
    public SealingKey? SealingKey { get; set; }

    /// <summary>
    /// Opens an authenticated connection to a peer address (a coordinator). Default: <see cref="PeerConnection.ConnectAsync"/>
    /// with <see cref="Identity"/>. A node passes its own connection manager here.
    /// </summary>
    public Func<PeerAddress, CancellationToken, ValueTask<PeerConnection>>? Connect { get; set; }

    /// <summary>Clock-skew tolerance at both edges of every validity window. Default 5 minutes.</summary>
    public TimeSpan ClockSkew { get; set; } = NetworkState.DefaultClockSkew;

    /// <summary>No message from the coordinator for this long (heartbeats come every 30 s) means it is gone: reconnect. Default 75 s.</summary>
    public TimeSpan SilenceTimeout { get; set; } = TimeSpan.FromSeconds(75);

    /// <summary>First delay before reconnecting; doubles up to <see cref="MaxReconnectDelay"/>. Default 250 ms.</summary>
    public TimeSpan ReconnectDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Longest delay between reconnection attempts. Default 30 s.</summary>
    public TimeSpan MaxReconnectDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long one operation (connect, redeem, publish) may take. Default 30 s.</summary>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Least time between two writes of the cache file. Default 1 s.</summary>
    public TimeSpan CacheWriteInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The clock. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Logging. Default none.</summary>
    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate(bool requireNetwork = true)
    {
        if (Identity is null)
        {
            throw new ArgumentException("MembershipClientOptions.Identity is required.");
        }
        if (requireNetwork && Network is null)
        {
            throw new ArgumentException("MembershipClientOptions.Network is required.");
        }
        foreach (var address in Coordinators)
        {
            if (!address.TryGetPeerId(out _))
            {
                throw new ArgumentException($"Coordinator address {address} must end in /p2p/<PeerId>: the coordinator is pinned by its key.");
            }
        }
        if (ClockSkew < TimeSpan.Zero || ClockSkew > TimeSpan.FromHours(1))
        {
            throw new ArgumentException("MembershipClientOptions.ClockSkew must be 0 to 1 hour.");
        }
        if (SilenceTimeout <= TimeSpan.Zero || ReconnectDelay <= TimeSpan.Zero || MaxReconnectDelay < ReconnectDelay || OperationTimeout <= TimeSpan.Zero || CacheWriteInterval < TimeSpan.Zero)
        {
            throw new ArgumentException("MembershipClientOptions timeouts must be positive, and MaxReconnectDelay at least ReconnectDelay.");
        }
    }
}
