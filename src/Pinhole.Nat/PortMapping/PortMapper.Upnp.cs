using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Pinhole.Nat.Internal;
using Pinhole.Nat.Mapping;

namespace Pinhole.Nat;

public sealed partial class PortMapper
{
    private static readonly string[] SearchTargets = ["urn:schemas-upnp-org:device:InternetGatewayDevice:1", "ssdp:all"];
    private UpnpService? _upnp;

    // SSDP by unicast to the gateway (and multicast unless turned off), then the root description (tailscale#3557).
    private async Task<UpnpService?> UpnpDiscoverAsync(CancellationToken cancellationToken)
    {
        if (_upnp is not null)
        {
            return _upnp;
        }
        var gateway = new IPEndPoint(_options.Gateway!, UpnpCodec.SsdpPort);
        IPEndPoint? multicast = _options.SsdpMulticast ? new IPEndPoint(IPAddress.Parse("239.255.255.250"), UpnpCodec.SsdpPort) : null;
        foreach (string target in SearchTargets)
        {
            Uri? location = await GatewayUdp.ExchangeAsync(_options, gateway, UpnpCodec.MSearch(target), reply =>
            {
                try
                {
                    Uri l = UpnpCodec.ParseSsdpResponse(reply);
                    return l.Host == _options.Gateway!.ToString() ? l : null;
                }
                catch (PeerException e)
                {
                    NatLog.PortMappingMalformed(_logger, "SSDP", e.Message);
                    return null;
                }
            }, cancellationToken, multicast).ConfigureAwait(false);
            if (location is null)
            {
                continue;
            }
            try
            {
                string xml = await HttpAsync(HttpMethod.Get, location, null, null, UpnpCodec.MaxDescription, cancellationToken).ConfigureAwait(false);
                _upnp = UpnpCodec.ParseDescription(xml, location);
                return _upnp;
            }
            catch (Exception e) when (e is PeerException or HttpRequestException or IOException or SocketException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                NatLog.PortMappingMalformed(_logger, "UPnP description", e.Message);
                return null;
            }
        }
        return null;
    }

    // Answered: the action succeeded (an empty or unspecified address then means the gateway has none to give).
    private async Task<(bool Answered, IPAddress? Address)> UpnpExternalAddressAsync(UpnpService service, CancellationToken cancellationToken)
    {
        UpnpSoapResult r = await SoapAsync(service, "GetExternalIPAddress", [], cancellationToken).ConfigureAwait(false);
        if (!r.IsSuccess)
        {
            return (false, null);
        }
        if (!r.Values.TryGetValue("NewExternalIPAddress", out string? text) || !IPAddress.TryParse(text, out IPAddress? address))
        {
            return (true, null);
        }
        // tailscale: some gateways report 0.0.0.0 or loopback before they are online.
        return (true, address.Equals(IPAddress.Any) || IPAddress.IsLoopback(address) ? null : address);
    }

    private async Task<PortMapping?> UpnpMapAsync(UpnpService service, CancellationToken cancellationToken)
    {
        try
        {
            (bool answered, IPAddress? external) = await UpnpExternalAddressAsync(service, cancellationToken).ConfigureAwait(false);
            GatewayLacksPublicAddress |= answered && external is null;
            if (external is null)
            {
                NatLog.PortMappingRefused(_logger, "UPnP", "no usable external address");
                return null;
            }
            string protocol = _options.Transport == ProtocolType.Udp ? "UDP" : "TCP";
            int externalPort = Current?.Protocol == PortMappingProtocols.Upnp ? Current.External.Port : _options.InternalPort;
            uint lease = (uint)_options.Lifetime.TotalSeconds;
            if (service.IsIgdV2 && Current is null)
            {
                UpnpSoapResult any = await SoapAsync(service, "AddAnyPortMapping", MappingArguments(externalPort, protocol, lease), cancellationToken).ConfigureAwait(false);
                if (any.IsSuccess && any.Values.TryGetValue("NewReservedPort", out string? reserved) && int.TryParse(reserved, CultureInfo.InvariantCulture, out int port))
                {
                    return Lease(PortMappingProtocols.Upnp, new IPEndPoint(external, port), lease);
                }
            }
            for (int attempt = 0; attempt < 3; attempt++)
            {
                UpnpSoapResult add = await SoapAsync(service, "AddPortMapping", MappingArguments(externalPort, protocol, lease), cancellationToken).ConfigureAwait(false);
                if (add.IsSuccess)
                {
                    return Lease(PortMappingProtocols.Upnp, new IPEndPoint(external, externalPort), lease);
                }
                NatLog.PortMappingRefused(_logger, "UPnP", $"{add.ErrorCode} {add.ErrorDescription}");
                switch (add.ErrorCode)
                {
                    case 725 or 402 when lease != 0:
                        // OnlyPermanentLeasesSupported, or a gateway that rejects any lease (tailscale#9343, #15223).
                        lease = 0;
                        break;
                    case 718 or 724:
                        externalPort = 1024 + Random.Shared.Next(65535 - 1024);
                        break;
                    default:
                        return null;
                }
            }
            return null;
        }
        catch (Exception e) when (e is PeerException or HttpRequestException or IOException or SocketException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            NatLog.PortMappingRefused(_logger, "UPnP", e.Message);
            return null;
        }
    }

    private async Task UpnpDeleteAsync(PortMapping mapping, CancellationToken cancellationToken)
    {
        if (_upnp is { } service)
        {
            string protocol = _options.Transport == ProtocolType.Udp ? "UDP" : "TCP";
            await SoapAsync(service, "DeletePortMapping",
                [("NewRemoteHost", ""), ("NewExternalPort", mapping.External.Port.ToString(CultureInfo.InvariantCulture)), ("NewProtocol", protocol)],
                cancellationToken).ConfigureAwait(false);
        }
    }

    private (string, string)[] MappingArguments(int externalPort, string protocol, uint lease) =>
    [
        ("NewRemoteHost", ""),
        ("NewExternalPort", externalPort.ToString(CultureInfo.InvariantCulture)),
        ("NewProtocol", protocol),
        ("NewInternalPort", _options.InternalPort.ToString(CultureInfo.InvariantCulture)),
        // miniupnpd's secure_mode requires this to be the requester's own address.
        ("NewInternalClient", _local.ToString()),
        ("NewEnabled", "1"),
        ("NewPortMappingDescription", _options.Description),
        ("NewLeaseDuration", lease.ToString(CultureInfo.InvariantCulture)),
    ];

    private async Task<UpnpSoapResult> SoapAsync(UpnpService service, string action, (string, string)[] arguments, CancellationToken cancellationToken)
    {
        string body = UpnpCodec.SoapRequest(service.ServiceType, action, arguments);
        string response = await HttpAsync(HttpMethod.Post, service.ControlUrl, body, $"\"{service.ServiceType}#{action}\"", UpnpCodec.MaxSoapResponse, cancellationToken, acceptErrorStatus: true).ConfigureAwait(false);
        return UpnpCodec.ParseSoapResponse(response, action);
    }

    private async Task<string> HttpAsync(HttpMethod method, Uri uri, string? body, string? soapAction, int maxLength, CancellationToken cancellationToken, bool acceptErrorStatus = false)
    {
        using var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            ConnectTimeout = _options.HttpTimeout,
            ConnectCallback = async (context, token) =>
            {
                Socket socket = _options.CreateSocket(SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    await socket.ConnectAsync(context.DnsEndPoint, token).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        using var client = new HttpClient(handler) { Timeout = _options.HttpTimeout, MaxResponseContentBufferSize = maxLength };
        using var request = new HttpRequestMessage(method, uri);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "text/xml");
            request.Content.Headers.ContentType!.CharSet = "utf-8";
            request.Headers.TryAddWithoutValidation("SOAPAction", soapAction);
        }
        using HttpResponseMessage response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        // UPnP faults come with status 500; their body says what went wrong.
        if (!response.IsSuccessStatusCode && !(acceptErrorStatus && (int)response.StatusCode == 500))
        {
            throw new HttpRequestException($"{method} {uri} answered {(int)response.StatusCode} {response.ReasonPhrase}");
        }
        return await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
    }
}
