using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Pinhole.Nat;

/// <summary>Settings of a <see cref="TurnAllocation"/>: the server, its long-term credentials and the timers.</summary>
public sealed class TurnClientOptions
{
    /// <summary>The TURN server's UDP address (IPv4 or IPv6). Required.</summary>
    public IPEndPoint? Server { get; set; }

    /// <summary>USERNAME of the long-term credential. Required.</summary>
    public string? Username { get; set; }

    /// <summary>The password (the key is MD5(username:realm:password), RFC 8489 §9.2.2). Required.</summary>
    public string? Password { get; set; }

    /// <summary>LIFETIME asked for; the server may grant less (coturn: at most 3600 s). Default 600 s (RFC 8656's default).</summary>
    public TimeSpan Lifetime { get; set; } = TimeSpan.FromSeconds(600);

    /// <summary>
    /// How long before expiry the allocation is refreshed: at <c>lifetime − RefreshMargin</c>, but never later
    /// than half the lifetime for short ones. Default 60 s.
    /// </summary>
    public TimeSpan RefreshMargin { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Permissions last 300 s on the server (RFC 8656 §9); they are re-installed this often. Default 240 s.</summary>
    public TimeSpan PermissionRefreshInterval { get; set; } = TimeSpan.FromSeconds(240);

    /// <summary>Channel bindings last 600 s (RFC 8656 §12); they are re-bound this often. Default 540 s.</summary>
    public TimeSpan ChannelRefreshInterval { get; set; } = TimeSpan.FromSeconds(540);

    /// <summary>
    /// A STUN Binding indication goes to the server this often, so that a NAT between us and the server keeps
    /// the 5-tuple the allocation is tied to (NATs forget idle UDP flows in 30 s or less). Default 15 s;
    /// <see cref="Timeout.InfiniteTimeSpan"/> sends none.
    /// </summary>
    public TimeSpan KeepaliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Retries of a request answered 438 Stale Nonce (each with the new nonce). Default 3.</summary>
    public int MaxStaleNonceRetries { get; set; } = 3;

    /// <summary>Peers with a permission at once (each costs refresh traffic). Default 256.</summary>
    public int MaxPermissions { get; set; } = 256;

    /// <summary>Channels bound at once (at most 4096 exist). Default 256.</summary>
    public int MaxChannels { get; set; } = 256;

    /// <summary>Clock for every timer. Default <see cref="TimeProvider.System"/> (retransmissions use the mux's STUN client clock).</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Logging; default none.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    internal void Validate()
    {
        if (Server is null)
        {
            throw new ArgumentException("TurnClientOptions.Server is required.", nameof(Server));
        }
        if (Server.Port == 0 || Server.Address.Equals(IPAddress.Any) || Server.Address.Equals(IPAddress.IPv6Any))
        {
            throw new ArgumentException($"TurnClientOptions.Server {Server} is not a server address.", nameof(Server));
        }
        if (Server.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
        {
            throw new ArgumentException("TurnClientOptions.Server must be an IP address.", nameof(Server));
        }
        ArgumentException.ThrowIfNullOrEmpty(Username, nameof(Username));
        ArgumentNullException.ThrowIfNull(Password, nameof(Password));
        if (System.Text.Encoding.UTF8.GetByteCount(Username) > 509)
        {
            throw new ArgumentException("USERNAME is at most 509 bytes.", nameof(Username));
        }
        if (Lifetime < TimeSpan.FromSeconds(60) || Lifetime > TimeSpan.FromHours(24))
        {
            throw new ArgumentOutOfRangeException(nameof(Lifetime), Lifetime, "Must be between 60 s and 24 h.");
        }
        Positive(RefreshMargin, nameof(RefreshMargin));
        Positive(PermissionRefreshInterval, nameof(PermissionRefreshInterval));
        if (PermissionRefreshInterval >= TimeSpan.FromSeconds(300))
        {
            throw new ArgumentOutOfRangeException(nameof(PermissionRefreshInterval), PermissionRefreshInterval, "Permissions expire after 300 s: refresh sooner.");
        }
        Positive(ChannelRefreshInterval, nameof(ChannelRefreshInterval));
        if (ChannelRefreshInterval >= TimeSpan.FromSeconds(600))
        {
            throw new ArgumentOutOfRangeException(nameof(ChannelRefreshInterval), ChannelRefreshInterval, "Channel bindings expire after 600 s: refresh sooner.");
        }
        if (KeepaliveInterval != Timeout.InfiniteTimeSpan)
        {
            Positive(KeepaliveInterval, nameof(KeepaliveInterval));
        }
        ArgumentOutOfRangeException.ThrowIfNegative(MaxStaleNonceRetries, nameof(MaxStaleNonceRetries));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxPermissions, 1, nameof(MaxPermissions));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxChannels, 1, nameof(MaxChannels));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxChannels, TurnChannelData.MaxChannel - TurnChannelData.MinChannel + 1, nameof(MaxChannels));
        ArgumentNullException.ThrowIfNull(TimeProvider, nameof(TimeProvider));
    }

    private static void Positive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(name, value, "Must be positive.");
        }
    }
}
