using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Pinhole.Cli.Output;
using Pinhole.Nat;

namespace Pinhole.Cli.Commands;

/// <summary>
/// <c>--map-port</c>: asks the gateway (PCP, NAT-PMP or UPnP IGD) to forward a listening port, so that peers
/// outside the NAT can dial the printed address without manual forwarding. The mapper renews the lease while
/// the command runs and deletes the mapping when it is disposed.
/// </summary>
internal static class PortMappingCli
{
    /// <summary>The mapper holding the mapping, or null (with a note on stderr) when no gateway mapped the port.</summary>
    public static async Task<PortMapper?> MapAsync(string? gatewayText, int port, ProtocolType transport, ILoggerFactory logging, CancellationToken cancellationToken)
    {
        IPAddress? gateway;
        if (gatewayText is not null)
        {
            if (!IPAddress.TryParse(gatewayText, out gateway) || gateway.AddressFamily != AddressFamily.InterNetwork)
            {
                throw new FormatException($"--gateway takes an IPv4 address, not '{gatewayText}'.");
            }
        }
        else if ((gateway = PortMapper.FindDefaultGateway()) is null)
        {
            CliOutput.Note("--map-port: no IPv4 default gateway; nothing mapped.");
            return null;
        }
        var mapper = PortMapper.Create(new PortMapperOptions
        {
            Gateway = gateway,
            InternalPort = port,
            Transport = transport,
            Description = "pinhole",
            LoggerFactory = logging,
        });
        PortMapping? mapping = await mapper.MapAsync(cancellationToken).ConfigureAwait(false);
        if (mapping is null)
        {
            await mapper.DisposeAsync().ConfigureAwait(false);
            CliOutput.Note(mapper.GatewayLacksPublicAddress
                ? $"--map-port: the gateway {gateway} has no public address (another NAT is upstream); nothing mapped."
                : $"--map-port: the gateway {gateway} answered none of PCP, NAT-PMP and UPnP; nothing mapped.");
            return null;
        }
        CliOutput.Note($"--map-port: {transport.ToString().ToUpperInvariant()} port {port} is reachable at {mapping.External} ({mapping.Protocol}, lease {mapping.Lifetime.TotalMinutes:0} min, renewed at half-life).");
        if (mapping.BehindAnotherNat)
        {
            CliOutput.Note($"--map-port: {mapping.External.Address} is a private or CGNAT address: another NAT is upstream and this mapping does not reach the internet.");
        }
        return mapper;
    }
}
