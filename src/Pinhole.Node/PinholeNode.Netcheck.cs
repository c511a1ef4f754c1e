using System.Net;
using System.Net.Sockets;
using Pinhole.Nat;

namespace Pinhole.Node;

public sealed partial class PinholeNode
{
    private readonly SemaphoreSlim _netcheckGate = new(1, 1);

    /// <summary>
    /// Runs <c>netcheck</c> (docs/nat.md) against the node's STUN servers (<see cref="PinholeNodeOptions.StunServers"/>):
    /// UDP, the public address, the NAT's mapping and filtering, hairpinning, latency to each server, and — when the
    /// node maps ports (<see cref="NodePortMappingExtensions.UsePortMapping"/>) — which port-mapping protocols its
    /// gateway answers. The probes use sockets of their own, so the node's traffic is untouched. One check runs at a
    /// time; a second caller waits for the first to finish.
    /// </summary>
    /// <param name="testHairpinning">Also test whether the NAT hairpins (up to a second more).</param>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <exception cref="InvalidOperationException">The node has no STUN servers.</exception>
    /// <exception cref="PeerException"><see cref="PeerError.Unreachable"/>: a server's host name does not resolve.</exception>
    public async Task<NetcheckReport> NetcheckAsync(bool testHairpinning = true, CancellationToken cancellationToken = default)
    {
        if (Options.StunServers.Count == 0)
        {
            throw new InvalidOperationException("The node has no STUN servers to check against (Node:Stun in pinhole.json, or the daemon's --stun).");
        }
        var options = new NetcheckOptions
        {
            TestHairpinning = testHairpinning,
            TimeProvider = Options.TimeProvider,
            LoggerFactory = Options.LoggerFactory,
            BindFactory = Options.Transport.DatagramBindFactory is null ? null
                : family => Options.Transport.BindDatagrams(new IPEndPoint(family == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0)),
        };
        foreach (var server in Options.StunServers)
        {
            options.StunServers.Add(await ResolveAsync(server, cancellationToken).ConfigureAwait(false));
        }
        if (GetService<NodePortMappingService>() is { } mapping && (mapping.Gateway ?? PortMapper.FindDefaultGateway()) is { } gateway)
        {
            // Only a node that maps ports asks its gateway: probing is traffic to the router the user chose to talk to.
            options.PortMappingProbe = token => PortMapper.ProbeAsync(new PortMapperOptions { Gateway = gateway, InternalPort = 1 }, token)!;
        }
        await _netcheckGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await Netcheck.RunAsync(options, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _netcheckGate.Release();
        }
    }

    private static async Task<IPEndPoint> ResolveAsync(EndPoint server, CancellationToken cancellationToken)
    {
        if (server is IPEndPoint ip)
        {
            return ip;
        }
        var dns = (DnsEndPoint)server; // validated: IP:PORT or HOST:PORT
        IPAddress[] addresses;
        try
        {
            addresses = await Dns.GetHostAddressesAsync(dns.Host, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            throw new PeerException(PeerError.Unreachable, $"Cannot resolve the STUN server {dns.Host}: {e.Message}", e);
        }
        var address = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault()
            ?? throw new PeerException(PeerError.Unreachable, $"The STUN server {dns.Host} has no address.");
        return new IPEndPoint(address, dns.Port);
    }
}
