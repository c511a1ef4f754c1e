using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pinhole.Nat.Internal;
using Pinhole.Nat.Mapping;

namespace Pinhole.Nat;

/// <summary>
/// Opens a port on the gateway for the node's socket with PCP (RFC 6887), NAT-PMP (RFC 6886) or UPnP IGD,
/// probed in parallel and used in that order of preference; renews the lease at half-life; notices a gateway
/// that lost its state (NAT-PMP/PCP epoch going back, e.g. a reboot) and maps again; deletes the mapping on
/// dispose. <see cref="PortMapping.BehindAnotherNat"/> flags a double NAT (the gateway's external address is
/// private or CGNAT).
/// </summary>
public sealed partial class PortMapper : IAsyncDisposable
{
    private readonly PortMapperOptions _options;
    private readonly ILogger _logger;
    private readonly IPAddress _local;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly byte[] _pcpNonce = new byte[PcpCodec.NonceLength];
    private ITimer? _renewal;
    private PortMapping? _current;
    private (uint Epoch, long At)? _lastEpoch;
    private int _disposed;
    private int _renewalsStarted;

    private PortMapper(PortMapperOptions options, IPAddress local)
    {
        _options = options;
        _local = local;
        _logger = options.LoggerFactory?.CreateLogger<PortMapper>() ?? (ILogger)NullLogger.Instance;
        System.Security.Cryptography.RandomNumberGenerator.Fill(_pcpNonce);
    }

    /// <summary>Raised when a mapping is made, renewed, moves, is recreated after a gateway reboot, is lost or deleted.</summary>
    public event EventHandler<PortMappingChangedEventArgs>? Changed;

    /// <summary>The mapping in force, if any.</summary>
    public PortMapping? Current => Volatile.Read(ref _current);

    /// <summary>Times the gateway was seen to lose its state.</summary>
    public int GatewayResets { get; private set; }

    /// <summary>
    /// True when the last attempt found a gateway that answers but has no public address (NAT-PMP result 3, an
    /// empty UPnP external address): it is behind another NAT, so no mapping on it would reach the internet.
    /// </summary>
    public bool GatewayLacksPublicAddress { get; private set; }

    /// <summary>Our address on the gateway's network.</summary>
    public IPAddress LocalAddress => _local;

    /// <summary>Creates a mapper (nothing is sent until <see cref="MapAsync"/>).</summary>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public static PortMapper Create(PortMapperOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return new PortMapper(options, options.LocalAddress ?? GatewayUdp.LocalAddressTowards(options));
    }

    /// <summary>The IPv4 default gateway of an interface that is up (what port mapping asks), or null when there is none.</summary>
    public static IPAddress? FindDefaultGateway()
    {
        foreach (System.Net.NetworkInformation.NetworkInterface nic in System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces())
        {
            if (nic.OperationalStatus is not (System.Net.NetworkInformation.OperationalStatus.Up or System.Net.NetworkInformation.OperationalStatus.Unknown))
            {
                continue;
            }
            foreach (System.Net.NetworkInformation.GatewayIPAddressInformation gateway in nic.GetIPProperties().GatewayAddresses)
            {
                if (gateway.Address.AddressFamily == AddressFamily.InterNetwork && !gateway.Address.Equals(IPAddress.Any))
                {
                    return gateway.Address;
                }
            }
        }
        return null;
    }

    /// <summary>Asks the gateway, in parallel, which of PCP, NAT-PMP and UPnP (those <see cref="PortMapperOptions.Protocols"/> allows) it answers, and its external address.</summary>
    public static async Task<NetcheckPortMapping> ProbeAsync(PortMapperOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.InternalPort == 0)
        {
            options.InternalPort = 1;
        }
        options.Validate();
        IPAddress local = options.LocalAddress ?? GatewayUdp.LocalAddressTowards(options);
        var mapper = new PortMapper(options, local);
        PortMappingProtocols allowed = options.Protocols;
        Task<PcpResponse?> pcp = (allowed & PortMappingProtocols.Pcp) != 0 ? mapper.PcpAnnounceAsync(cancellationToken) : Task.FromResult<PcpResponse?>(null);
        Task<NatPmpResponse?> pmp = (allowed & PortMappingProtocols.NatPmp) != 0 ? mapper.PmpExternalAddressAsync(cancellationToken) : Task.FromResult<NatPmpResponse?>(null);
        Task<UpnpService?> upnp = (allowed & PortMappingProtocols.Upnp) != 0 ? mapper.UpnpDiscoverAsync(cancellationToken) : Task.FromResult<UpnpService?>(null);
        await Task.WhenAll(pcp, pmp, upnp).ConfigureAwait(false);
        var result = new NetcheckPortMapping
        {
            Gateway = options.Gateway!.ToString(),
            Pcp = pcp.Result is { IsNatPmpVersionMismatch: false, Result: PcpCodec.ResultSuccess },
            // Any well-formed answer means the gateway speaks NAT-PMP, an error result included.
            NatPmp = pmp.Result is not null,
            Upnp = upnp.Result is not null,
            ExternalAddress = pmp.Result is { Result: 0 } ok ? ok.ExternalAddress?.ToString() : null,
            NoPublicAddress = pmp.Result is { Result: NatPmpCodec.ResultNetworkFailure },
        };
        if (result.ExternalAddress is null && upnp.Result is { } service)
        {
            try
            {
                (bool answered, IPAddress? address) = await mapper.UpnpExternalAddressAsync(service, cancellationToken).ConfigureAwait(false);
                result.ExternalAddress = address?.ToString();
                result.NoPublicAddress |= answered && address is null;
            }
            catch (Exception e) when (e is PeerException or HttpRequestException or IOException or SocketException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                NatLog.PortMappingMalformed(mapper._logger, "UPnP GetExternalIPAddress", e.Message);
            }
        }
        return result;
    }

    /// <summary>
    /// Makes the mapping with the first protocol (PCP, NAT-PMP, UPnP, as allowed by the options) that the gateway
    /// answers, and starts renewing it at half-life. Returns null when no protocol works.
    /// </summary>
    public async Task<PortMapping?> MapAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            PortMapping? mapping = await MapCoreAsync(_options.Protocols, cancellationToken).ConfigureAwait(false);
            if (mapping is not null)
            {
                Publish(mapping, PortMappingChange.Created, null);
            }
            return mapping;
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Renews now (what the half-life timer does): detects a gateway reset and a moved mapping.</summary>
    public async Task<PortMapping?> RenewAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            PortMapping? old = Current;
            if (old is null)
            {
                return null;
            }
            bool reset = false;
            PortMapping? renewed;
            try
            {
                renewed = await MapCoreAsync(old.Protocol, cancellationToken, epochReset: () => reset = true).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // Any failure to renew (a socket error GatewayUdp does not treat as "no answer", a malformed reply the
                // codec rejects...) loses the mapping visibly: a silent end would leave it advertised after expiry.
                Publish(null, PortMappingChange.Lost, $"renewal with {old.Protocol} failed: {e.Message}");
                return null;
            }
            if (renewed is null)
            {
                Publish(null, PortMappingChange.Lost, $"renewal with {old.Protocol} failed");
                return null;
            }
            if (reset)
            {
                GatewayResets++;
                Publish(renewed, PortMappingChange.Recreated, "the gateway's epoch went back: it lost its mappings");
            }
            else if (!renewed.External.Equals(old.External))
            {
                Publish(renewed, PortMappingChange.Moved, $"{old.External} → {renewed.External}");
            }
            else
            {
                Publish(renewed, PortMappingChange.Renewed, null);
            }
            return renewed;
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Deletes the mapping on the gateway (best effort) and stops renewing.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await _lock.WaitAsync().ConfigureAwait(false);
        try
        {
            _renewal?.Dispose();
            if (Current is { } mapping)
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                try
                {
                    await DeleteCoreAsync(mapping, cts.Token).ConfigureAwait(false);
                    NatLog.PortMappingDeleted(_logger, mapping.Protocol.ToString(), mapping.External);
                }
                catch (Exception e) when (e is PeerException or SocketException or IOException or OperationCanceledException or HttpRequestException)
                {
                    NatLog.PortMappingDeleteFailed(_logger, mapping.Protocol.ToString(), e);
                }
                Publish(null, PortMappingChange.Deleted, null);
            }
        }
        finally
        {
            _lock.Release();
        }
    }

    private async Task<PortMapping?> MapCoreAsync(PortMappingProtocols allowed, CancellationToken cancellationToken, Action? epochReset = null)
    {
        // Probe the allowed protocols in parallel, then map with the best one that answered.
        Task<PcpResponse?> pcp = (allowed & PortMappingProtocols.Pcp) != 0 ? PcpMapAsync((uint)_options.Lifetime.TotalSeconds, cancellationToken) : Task.FromResult<PcpResponse?>(null);
        Task<NatPmpResponse?> pmpAddress = (allowed & PortMappingProtocols.NatPmp) != 0 ? PmpExternalAddressAsync(cancellationToken) : Task.FromResult<NatPmpResponse?>(null);
        Task<UpnpService?> upnp = (allowed & PortMappingProtocols.Upnp) != 0 ? UpnpDiscoverAsync(cancellationToken) : Task.FromResult<UpnpService?>(null);
        await Task.WhenAll(pcp, pmpAddress, upnp).ConfigureAwait(false);

        if (pcp.Result is { IsNatPmpVersionMismatch: false } p)
        {
            if (p.Result == PcpCodec.ResultSuccess && p.ExternalAddress is not null)
            {
                CheckEpoch(p.Epoch, epochReset);
                return Lease(PortMappingProtocols.Pcp, new IPEndPoint(p.ExternalAddress, p.ExternalPort), p.Lifetime);
            }
            NatLog.PortMappingRefused(_logger, "PCP", PcpCodec.Describe(p.Result));
            if (p.Result == PcpCodec.ResultAddressMismatch)
            {
                return null;
            }
        }
        GatewayLacksPublicAddress = pmpAddress.Result is { Result: NatPmpCodec.ResultNetworkFailure };
        if (pmpAddress.Result is { Result: 0, ExternalAddress: { } external } pa)
        {
            CheckEpoch(pa.Epoch, epochReset);
            NatPmpResponse? map = await PmpMapAsync((uint)_options.Lifetime.TotalSeconds, cancellationToken).ConfigureAwait(false);
            if (map is { Result: 0 } m)
            {
                CheckEpoch(m.Epoch, epochReset);
                return Lease(PortMappingProtocols.NatPmp, new IPEndPoint(external, m.ExternalPort), m.Lifetime);
            }
            NatLog.PortMappingRefused(_logger, "NAT-PMP", map is null ? "no answer" : NatPmpCodec.Describe(map.Value.Result));
        }
        if (upnp.Result is { } service)
        {
            return await UpnpMapAsync(service, cancellationToken).ConfigureAwait(false);
        }
        return null;
    }

    private PortMapping Lease(PortMappingProtocols protocol, IPEndPoint external, uint lifetimeSeconds)
    {
        TimeSpan lifetime = TimeSpan.FromSeconds(lifetimeSeconds);
        return new PortMapping(protocol, external, _options.InternalPort, lifetime, _options.TimeProvider.GetUtcNow() + lifetime);
    }

    // RFC 6886 §3.6: the gateway lost its state if its epoch is less than the previous one plus 7/8 of the
    // time that passed, minus 2 s of slack.
    private void CheckEpoch(uint epoch, Action? onReset)
    {
        long now = _options.TimeProvider.GetTimestamp();
        if (_lastEpoch is (uint previous, long at))
        {
            double elapsed = _options.TimeProvider.GetElapsedTime(at, now).TotalSeconds;
            if (epoch + 2.0 < previous + elapsed * 7 / 8)
            {
                onReset?.Invoke();
            }
        }
        _lastEpoch = (epoch, now);
    }

    private void Publish(PortMapping? mapping, PortMappingChange change, string? reason)
    {
        Volatile.Write(ref _current, mapping);
        if (mapping is not null)
        {
            ScheduleRenewal(mapping);
            NatLog.PortMapped(_logger, mapping.Protocol.ToString(), mapping.External, mapping.InternalPort, change.ToString());
        }
        else
        {
            _renewal?.Dispose();
            _renewal = null;
        }
        Changed?.Invoke(this, new PortMappingChangedEventArgs(change, mapping, reason));
    }

    private void ScheduleRenewal(PortMapping mapping)
    {
        _renewal?.Dispose();
        if (mapping.Lifetime <= TimeSpan.Zero)
        {
            // A permanent UPnP lease: re-add every hour anyway, in case the gateway rebooted.
            _renewal = _options.TimeProvider.CreateTimer(static s => ((PortMapper)s!).RenewFromTimer(), this, TimeSpan.FromHours(1), Timeout.InfiniteTimeSpan);
            return;
        }
        _renewal = _options.TimeProvider.CreateTimer(static s => ((PortMapper)s!).RenewFromTimer(), this, RenewalDelay(mapping.Lifetime), Timeout.InfiniteTimeSpan);
    }

    /// <summary>
    /// When to renew a lease of <paramref name="lifetime"/>: at half-life, but a gateway may grant far less than asked
    /// (RFC 6887 §15, RFC 6886 §3.3), so a short lease is renewed up to 2 s before it ends (at most 30 s after it was
    /// granted) and never sooner than 1 s: a few-second lease must not make the mapper spin.
    /// </summary>
    internal static TimeSpan RenewalDelay(TimeSpan lifetime)
    {
        TimeSpan late = TimeSpan.FromSeconds(Math.Min(30, (lifetime - TimeSpan.FromSeconds(2)).TotalSeconds));
        TimeSpan delay = lifetime / 2 > late ? lifetime / 2 : late;
        return delay < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : delay;
    }

    /// <summary>Renewals the half-life timer has started (tests assert on it instead of waiting).</summary>
    internal int RenewalsStarted => Volatile.Read(ref _renewalsStarted);

    private void RenewFromTimer()
    {
        Interlocked.Increment(ref _renewalsStarted);
        _ = Task.Run(async () =>
        {
            try
            {
                await RenewAsync().ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
                // Disposed between the timer and the renewal: the mapping was deleted on purpose.
            }
            catch (Exception e)
            {
                // RenewAsync publishes Lost for a failed exchange; what is left (a Changed subscriber that threw)
                // must still not end renewal silently while a mapping is advertised.
                NatLog.PortMappingRenewalFailed(_logger, e);
                await LoseAfterTimerFailureAsync(e).ConfigureAwait(false);
            }
        });
    }

    private async Task LoseAfterTimerFailureAsync(Exception cause)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }
        await _lock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (Volatile.Read(ref _disposed) == 0 && Current is not null)
            {
                Publish(null, PortMappingChange.Lost, $"renewal failed: {cause.Message}");
            }
        }
        catch (Exception e)
        {
            NatLog.PortMappingRenewalFailed(_logger, e);
        }
        finally
        {
            _lock.Release();
        }
    }

    private Task DeleteCoreAsync(PortMapping mapping, CancellationToken cancellationToken) => mapping.Protocol switch
    {
        PortMappingProtocols.Pcp => PcpMapAsync(0, cancellationToken),
        PortMappingProtocols.NatPmp => PmpMapAsync(0, cancellationToken),
        _ => UpnpDeleteAsync(mapping, cancellationToken),
    };
}
