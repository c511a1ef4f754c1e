using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Pinhole.Dtls;

namespace Pinhole.Nat;

/// <summary>Settings of a <see cref="Netcheck"/> run.</summary>
public sealed class NetcheckOptions
{
    /// <summary>STUN servers to probe (latency, reflexive address); RFC 5780 tests use the first that gives OTHER-ADDRESS. Required.</summary>
    public List<IPEndPoint> StunServers { get; } = [];

    /// <summary>
    /// Makes the UDP sockets the check sends from (fresh ones, so that earlier traffic on the node's socket
    /// cannot open the filter and hide the NAT's behaviour). Default: a socket on the family's any-address, port 0.
    /// </summary>
    public Func<AddressFamily, IDatagramBind>? BindFactory { get; set; }

    /// <summary>Retransmissions of each probe. Default RTO 250 ms, 3 sends, then 4 RTOs: at most 1.75 s per probe.</summary>
    public StunClientOptions Stun { get; set; } = new()
    {
        InitialRetransmitTimeout = TimeSpan.FromMilliseconds(250),
        MaxSends = 3,
        FinalWaitMultiplier = 4,
    };

    /// <summary>Binding requests per server for the latency figure (the best is reported). Default 3.</summary>
    public int LatencySamples { get; set; } = 3;

    /// <summary>Test whether the NAT hairpins (a packet to our own public address). Default true.</summary>
    public bool TestHairpinning { get; set; } = true;

    /// <summary>How long to wait for the hairpinned packet. Default 1 s.</summary>
    public TimeSpan HairpinTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Probes the gateway's port-mapping protocols (the port mapper's probe does); null skips it.
    /// </summary>
    public Func<CancellationToken, Task<NetcheckPortMapping?>>? PortMappingProbe { get; set; }

    /// <summary>Clock for retransmissions and waits. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Logging; default none.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    internal void Validate()
    {
        if (StunServers.Count == 0)
        {
            throw new ArgumentException("NetcheckOptions.StunServers needs at least one server.", nameof(StunServers));
        }
        ArgumentNullException.ThrowIfNull(Stun, nameof(Stun));
        ArgumentNullException.ThrowIfNull(TimeProvider, nameof(TimeProvider));
        ArgumentOutOfRangeException.ThrowIfLessThan(LatencySamples, 1, nameof(LatencySamples));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(LatencySamples, 20, nameof(LatencySamples));
        if (HairpinTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(HairpinTimeout), HairpinTimeout, "Must be positive.");
        }
        Stun.TimeProvider = TimeProvider;
        Stun.LoggerFactory ??= LoggerFactory;
        Stun.Validate();
    }

    internal IDatagramBind CreateBind(AddressFamily family) => BindFactory is { } factory
        ? factory(family)
        : UdpDatagramBind.Bind(new IPEndPoint(family == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0));
}
