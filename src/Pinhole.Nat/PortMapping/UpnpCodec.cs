using System.Globalization;
using System.Security;
using System.Text;
using System.Xml;
using Pinhole.Nat.Internal;

namespace Pinhole.Nat.Mapping;

/// <summary>The WAN connection service a UPnP gateway offers, from its root description.</summary>
/// <param name="ServiceType">e.g. <c>urn:schemas-upnp-org:service:WANIPConnection:2</c>.</param>
/// <param name="ControlUrl">Absolute URL to POST SOAP actions to.</param>
internal sealed record UpnpService(string ServiceType, Uri ControlUrl)
{
    internal bool IsIgdV2 => ServiceType.EndsWith(":2", StringComparison.Ordinal);
}

/// <summary>A SOAP action's outcome: its output arguments, or a UPnP error code and description.</summary>
internal sealed record UpnpSoapResult(IReadOnlyDictionary<string, string> Values, int? ErrorCode, string? ErrorDescription)
{
    internal bool IsSuccess => ErrorCode is null;
}

/// <summary>
/// UPnP IGD on the wire: SSDP M-SEARCH and its response, the root description XML, SOAP requests and
/// responses. Pure functions over text with size limits checked first; XML with DTDs prohibited.
/// </summary>
internal static class UpnpCodec
{
    internal const int SsdpPort = 1900;
    internal const int MaxSsdpResponse = 4096;
    internal const int MaxDescription = 64 * 1024;
    internal const int MaxSoapResponse = 16 * 1024;

    internal static readonly string[] PreferredServices =
    [
        "urn:schemas-upnp-org:service:WANIPConnection:2",
        "urn:schemas-upnp-org:service:WANIPConnection:1",
        "urn:schemas-upnp-org:service:WANPPPConnection:1",
    ];

    internal static byte[] MSearch(string searchTarget) => Encoding.ASCII.GetBytes(
        "M-SEARCH * HTTP/1.1\r\n" +
        "HOST: 239.255.255.250:1900\r\n" +
        $"ST: {searchTarget}\r\n" +
        "MAN: \"ssdp:discover\"\r\n" +
        "MX: 2\r\n\r\n");

    //  HTTP/1.1 200 OK
    //  CACHE-CONTROL: max-age=120
    //  ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1
    //  LOCATION: http://10.1.0.1:5000/rootDesc.xml
    //  ...
    /// <summary>The LOCATION of an SSDP search response (http only).</summary>
    internal static Uri ParseSsdpResponse(ReadOnlySpan<byte> datagram)
    {
        if (datagram.Length > MaxSsdpResponse)
        {
            throw NatErrors.Malformed("SSDP", $"{datagram.Length} bytes is longer than {MaxSsdpResponse}");
        }
        string text = Encoding.ASCII.GetString(datagram);
        string[] lines = text.Split("\r\n");
        if (lines.Length == 0 || !lines[0].StartsWith("HTTP/1.", StringComparison.Ordinal) || !lines[0].Contains(" 200", StringComparison.Ordinal))
        {
            throw NatErrors.Malformed("SSDP", $"the status line is '{Truncate(lines.FirstOrDefault())}', not HTTP/1.x 200");
        }
        foreach (string line in lines.Skip(1))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && line.AsSpan(0, colon).Trim().Equals("LOCATION", StringComparison.OrdinalIgnoreCase))
            {
                string value = line[(colon + 1)..].Trim();
                if (!Uri.TryCreate(value, UriKind.Absolute, out Uri? location) || location.Scheme != Uri.UriSchemeHttp)
                {
                    throw NatErrors.Malformed("SSDP", $"LOCATION '{Truncate(value)}' is not an absolute http URL");
                }
                return location;
            }
        }
        throw NatErrors.Malformed("SSDP", "the response has no LOCATION header");
    }

    /// <summary>The best WAN connection service in a root description fetched from <paramref name="location"/>.</summary>
    internal static UpnpService ParseDescription(string xml, Uri location)
    {
        ArgumentNullException.ThrowIfNull(xml);
        if (xml.Length > MaxDescription)
        {
            throw NatErrors.Malformed("UPnP description", $"{xml.Length} characters is longer than {MaxDescription}");
        }
        string? urlBase = null;
        var services = new List<(string Type, string Control)>();
        try
        {
            using var reader = XmlReader.Create(new StringReader(xml), XmlSettings(MaxDescription));
            string? type = null, control = null;
            // ReadElementContentAsString moves past the element: such branches continue without another Read.
            reader.Read();
            for (; !reader.EOF; reader.Read())
            {
                while (reader.NodeType == XmlNodeType.Element && reader.LocalName is "URLBase" or "serviceType" or "controlURL")
                {
                    switch (reader.LocalName)
                    {
                        case "URLBase":
                            urlBase = reader.ReadElementContentAsString().Trim();
                            break;
                        case "serviceType":
                            type = reader.ReadElementContentAsString().Trim();
                            if (control is not null)
                            {
                                services.Add((type, control));
                            }
                            break;
                        default:
                            control = reader.ReadElementContentAsString().Trim();
                            if (type is not null)
                            {
                                services.Add((type, control));
                            }
                            break;
                    }
                }
                if (reader.NodeType == XmlNodeType.Element && reader.LocalName == "service")
                {
                    type = control = null;
                }
                if (reader.EOF)
                {
                    break;
                }
            }
        }
        catch (XmlException e)
        {
            throw NatErrors.Malformed("UPnP description", e.Message);
        }
        foreach (string preferred in PreferredServices)
        {
            foreach ((string t, string c) in services)
            {
                if (t == preferred)
                {
                    Uri baseUri = urlBase is { Length: > 0 } && Uri.TryCreate(urlBase, UriKind.Absolute, out Uri? b) ? b : location;
                    if (!Uri.TryCreate(baseUri, c, out Uri? controlUrl) || controlUrl.Scheme != Uri.UriSchemeHttp)
                    {
                        throw NatErrors.Malformed("UPnP description", $"controlURL '{Truncate(c)}' is not an http URL");
                    }
                    return new UpnpService(t, controlUrl);
                }
            }
        }
        throw NatErrors.Malformed("UPnP description", "no WANIPConnection or WANPPPConnection service");
    }

    internal static string SoapRequest(string serviceType, string action, IEnumerable<(string Name, string Value)> arguments)
    {
        var body = new StringBuilder();
        foreach ((string name, string value) in arguments)
        {
            body.Append(CultureInfo.InvariantCulture, $"<{name}>{SecurityElement.Escape(value)}</{name}>");
        }
        return "<?xml version=\"1.0\"?>\r\n" +
            "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\">" +
            $"<s:Body><u:{action} xmlns:u=\"{SecurityElement.Escape(serviceType)}\">{body}</u:{action}></s:Body></s:Envelope>";
    }

    /// <summary>Parses a SOAP response body: the action's output arguments, or a UPnPError inside a Fault.</summary>
    internal static UpnpSoapResult ParseSoapResponse(string xml, string action)
    {
        ArgumentNullException.ThrowIfNull(xml);
        if (xml.Length > MaxSoapResponse)
        {
            throw NatErrors.Malformed("SOAP", $"{xml.Length} characters is longer than {MaxSoapResponse}");
        }
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        int? errorCode = null;
        string? errorDescription = null;
        bool inResponse = false, inFault = false, sawResponse = false;
        try
        {
            using var reader = XmlReader.Create(new StringReader(xml), XmlSettings(MaxSoapResponse));
            reader.Read();
            while (!reader.EOF)
            {
                if (reader.NodeType == XmlNodeType.EndElement && (reader.LocalName == action + "Response" || reader.LocalName == "Fault"))
                {
                    inResponse = inFault = false;
                }
                else if (reader.NodeType == XmlNodeType.Element && reader.LocalName == action + "Response")
                {
                    inResponse = sawResponse = true;
                    if (reader.IsEmptyElement)
                    {
                        inResponse = false;
                    }
                }
                else if (reader.NodeType == XmlNodeType.Element && reader.LocalName == "Fault")
                {
                    inFault = true;
                }
                else if (reader.NodeType == XmlNodeType.Element && inFault && reader.LocalName == "errorCode")
                {
                    string text = reader.ReadElementContentAsString().Trim();
                    errorCode = int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int code)
                        ? code
                        : throw NatErrors.Malformed("SOAP", $"errorCode '{Truncate(text)}' is not a number");
                    continue;
                }
                else if (reader.NodeType == XmlNodeType.Element && inFault && reader.LocalName == "errorDescription")
                {
                    errorDescription = reader.ReadElementContentAsString().Trim();
                    continue;
                }
                else if (reader.NodeType == XmlNodeType.Element && inResponse && values.Count < 32)
                {
                    string name = reader.LocalName;
                    values[name] = reader.ReadElementContentAsString().Trim();
                    continue;
                }
                reader.Read();
            }
        }
        catch (XmlException e)
        {
            throw NatErrors.Malformed("SOAP", e.Message);
        }
        if (errorCode is null && !sawResponse)
        {
            throw NatErrors.Malformed("SOAP", $"neither {action}Response nor a UPnP fault");
        }
        return new UpnpSoapResult(values, errorCode, errorDescription);
    }

    private static XmlReaderSettings XmlSettings(int maxCharacters) => new()
    {
        DtdProcessing = DtdProcessing.Prohibit,
        XmlResolver = null,
        MaxCharactersInDocument = maxCharacters,
        MaxCharactersFromEntities = 0,
        IgnoreComments = true,
        IgnoreProcessingInstructions = true,
        IgnoreWhitespace = true,
    };

    private static string Truncate(string? s) => s is null ? "" : s.Length <= 80 ? s : s[..80] + "…";
}
