using Microsoft.Extensions.Logging;

namespace Pinhole.Nat;

/// <summary>Settings of a <see cref="UdpMux"/>.</summary>
public sealed class UdpMuxOptions
{
    /// <summary>Clock for the STUN client's retransmissions. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Logging; default none.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>
    /// Answer STUN Binding requests that no handler claims (the node's STUN server, RFC 8489 §6.3). Default
    /// true: a node with a public address tells its peers their reflexive addresses.
    /// </summary>
    public bool ServeStun { get; set; } = true;

    /// <summary>SOFTWARE in the STUN server's responses; null for none. Default "pinhole".</summary>
    public string? StunSoftware { get; set; } = "pinhole";

    /// <summary>Settings of the STUN client (<see cref="UdpMux.Stun"/>); its clock is <see cref="TimeProvider"/>.</summary>
    public StunClientOptions StunClient { get; set; } = new();

    /// <summary>
    /// DTLS datagrams queued for the DTLS view while it is not reading (or arriving through a route such as TURN);
    /// more are dropped, like a full socket buffer. Default 512.
    /// </summary>
    public int DtlsQueueCapacity { get; set; } = 512;

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(TimeProvider, nameof(TimeProvider));
        ArgumentNullException.ThrowIfNull(StunClient, nameof(StunClient));
        ArgumentOutOfRangeException.ThrowIfLessThan(DtlsQueueCapacity, 1, nameof(DtlsQueueCapacity));
        if (StunSoftware is { Length: > 127 })
        {
            throw new ArgumentException("SOFTWARE is at most 127 characters.", nameof(StunSoftware));
        }
    }
}
