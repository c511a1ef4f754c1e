using System.Net;
using System.Text;
using Pinhole.Nat.Mapping;

namespace Pinhole.Nat.Tests.PortMapping;

public sealed class PortMappingCodecTests
{
    [Fact]
    public void Natpmp_requests_and_responses_follow_rfc6886()
    {
        Assert.Equal(new byte[] { 0, 0 }, NatPmpCodec.ExternalAddressRequest());
        Assert.Equal(Convert.FromHexString("000100001f901f9000001c20"), NatPmpCodec.MapRequest(true, 8080, 8080, 7200));
        NatPmpResponse a = NatPmpCodec.Parse(Convert.FromHexString("0080000000000e10cb007165"));
        Assert.Equal(IPAddress.Parse("203.0.113.101"), a.ExternalAddress);
        Assert.Equal(3600u, a.Epoch);
        NatPmpResponse m = NatPmpCodec.Parse(Convert.FromHexString("00810000000000051f90c35000001c20"));
        Assert.Equal((ushort)8080, m.InternalPort);
        Assert.Equal((ushort)50000, m.ExternalPort);
        Assert.Equal(7200u, m.Lifetime);
        NatPmpResponse refused = NatPmpCodec.Parse(Convert.FromHexString("0081000200000005"));
        Assert.Equal((ushort)2, refused.Result);
    }

    [Theory]
    [InlineData("", "shorter than the 8-byte")]
    [InlineData("0080000000000e", "shorter than the 8-byte")]
    [InlineData("0180000000000e10cb007165", "version 1")]
    [InlineData("0001000000000e10cb007165", "is a request")]
    [InlineData("0080000000000e10cb0071", "12 bytes, not 11")]
    [InlineData("0080000000000e10cb00716500", "12 bytes, not 13")]
    [InlineData("00810000000000051f90c350", "16 bytes, not 12")]
    [InlineData("00ff000000000005", "unknown response opcode 255")]
    public void Natpmp_hostile_replies_get_precise_errors(string hex, string expected)
    {
        PeerException e = Assert.Throws<PeerException>(() => NatPmpCodec.Parse(Convert.FromHexString(hex)));
        Assert.Equal(PeerError.ProtocolViolation, e.Error);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Pcp_map_round_trips_and_recognises_a_natpmp_only_server()
    {
        byte[] nonce = Enumerable.Range(1, 12).Select(i => (byte)i).ToArray();
        byte[] request = PcpCodec.MapRequest(IPAddress.Parse("10.1.0.2"), nonce, 17, 4000, 4000, 7200);
        Assert.Equal(60, request.Length);
        Assert.Equal(2, request[0]);
        Assert.Equal(1, request[1]);
        Assert.Equal(IPAddress.Parse("10.1.0.2").MapToIPv6(), new IPAddress(request.AsSpan(8, 16)));
        // Turn the request into the server's response: R bit, result 0, epoch, assigned port and address.
        byte[] response = (byte[])request.Clone();
        response[1] |= 0x80;
        response[3] = 0;
        response.AsSpan(8, 16).Clear();
        response[11] = 42; // epoch
        response[24 + 18] = 0xC3;
        response[24 + 19] = 0x50;
        IPAddress.Parse("203.0.113.7").MapToIPv6().TryWriteBytes(response.AsSpan(24 + 20), out _);
        PcpResponse r = PcpCodec.Parse(response);
        Assert.Equal(PcpCodec.OpMap, r.Opcode);
        Assert.Equal(42u, r.Epoch);
        Assert.Equal(nonce, r.Nonce.ToArray());
        Assert.Equal((ushort)50000, r.ExternalPort);
        Assert.Equal(IPAddress.Parse("203.0.113.7"), r.ExternalAddress);
        PcpResponse pmp = PcpCodec.Parse(Convert.FromHexString("0081000100000000"));
        Assert.True(pmp.IsNatPmpVersionMismatch);
        PcpResponse mismatch = PcpCodec.Parse(Convert.FromHexString("0281000c" + "00000000" + "00000001" + new string('0', 24)));
        Assert.Equal(PcpCodec.ResultAddressMismatch, mismatch.Result);
    }

    [Theory]
    [InlineData("02", "shorter than the 24-byte header")]
    [InlineData("0381000000000000000000000000000000000000000000000000", "not a multiple of 4")]
    [InlineData("038100000000000000000000000000000000000000000000", "version 3")]
    [InlineData("020100000000000000000000000000000000000000000000", "R bit is clear")]
    [InlineData("028100000000000000000000000000000000000000000000", "needs 60 bytes")]
    [InlineData("028500000000000000000000000000000000000000000000", "unexpected opcode 5")]
    public void Pcp_hostile_replies_get_precise_errors(string hex, string expected)
    {
        PeerException e = Assert.Throws<PeerException>(() => PcpCodec.Parse(Convert.FromHexString(hex)));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Pcp_rejects_oversized_replies_before_reading_them()
    {
        byte[] big = new byte[PcpCodec.MaxLength + 4];
        big[0] = 2;
        Assert.Contains("up to 1100", Assert.Throws<PeerException>(() => PcpCodec.Parse(big)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Ssdp_response_location_is_found_and_hostile_ones_are_refused()
    {
        byte[] ok = Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nlocation: http://10.1.0.1:5000/rootDesc.xml\r\n\r\n");
        Assert.Equal(new Uri("http://10.1.0.1:5000/rootDesc.xml"), UpnpCodec.ParseSsdpResponse(ok));
        Assert.Contains("not HTTP/1.x 200", Ssdp("NOTIFY * HTTP/1.1\r\n\r\n"), StringComparison.Ordinal);
        Assert.Contains("no LOCATION", Ssdp("HTTP/1.1 200 OK\r\nST: x\r\n\r\n"), StringComparison.Ordinal);
        Assert.Contains("not an absolute http URL", Ssdp("HTTP/1.1 200 OK\r\nLOCATION: file:///etc/passwd\r\n\r\n"), StringComparison.Ordinal);
        Assert.Contains("longer than 4096", Ssdp("HTTP/1.1 200 OK\r\n" + new string('x', 5000)), StringComparison.Ordinal);
        Assert.Contains("M-SEARCH * HTTP/1.1", Encoding.ASCII.GetString(UpnpCodec.MSearch("ssdp:all")), StringComparison.Ordinal);

        static string Ssdp(string text) => Assert.Throws<PeerException>(() => UpnpCodec.ParseSsdpResponse(Encoding.ASCII.GetBytes(text))).Message;
    }

    private const string RootDesc = """
        <?xml version="1.0"?>
        <root xmlns="urn:schemas-upnp-org:device-1-0"><device><deviceList><device><deviceList><device>
          <serviceList>
            <service><serviceType>urn:schemas-upnp-org:service:WANPPPConnection:1</serviceType><controlURL>/ctl/PPP</controlURL></service>
            <service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType><controlURL>/ctl/IPConn</controlURL></service>
          </serviceList>
        </device></deviceList></device></deviceList></device></root>
        """;

    [Fact]
    public void Root_description_picks_wanipconnection_over_ppp()
    {
        UpnpService s = UpnpCodec.ParseDescription(RootDesc, new Uri("http://10.1.0.1:5000/rootDesc.xml"));
        Assert.Equal("urn:schemas-upnp-org:service:WANIPConnection:1", s.ServiceType);
        Assert.Equal(new Uri("http://10.1.0.1:5000/ctl/IPConn"), s.ControlUrl);
        Assert.False(s.IsIgdV2);
    }

    [Theory]
    [InlineData("<root><service><serviceType>urn:x</serviceType><controlURL>/c</controlURL></service></root>", "no WANIPConnection")]
    [InlineData("<root><unclosed></root>", "Malformed UPnP description")]
    [InlineData("<!DOCTYPE lolz [<!ENTITY lol \"lol\">]><root>&lol;</root>", "Malformed UPnP description")]
    [InlineData("<root><service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType><controlURL>ftp://x/</controlURL></service></root>", "not an http URL")]
    public void Hostile_root_descriptions_are_refused(string xml, string expected)
    {
        PeerException e = Assert.Throws<PeerException>(() => UpnpCodec.ParseDescription(xml, new Uri("http://10.1.0.1/")));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Oversized_root_descriptions_are_refused_before_parsing()
    {
        string huge = "<root>" + new string(' ', UpnpCodec.MaxDescription) + "</root>";
        Assert.Contains("longer than", Assert.Throws<PeerException>(() => UpnpCodec.ParseDescription(huge, new Uri("http://10.1.0.1/"))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Soap_success_fault_and_garbage()
    {
        string request = UpnpCodec.SoapRequest("urn:schemas-upnp-org:service:WANIPConnection:1", "AddPortMapping", [("NewPortMappingDescription", "a<b&c")]);
        Assert.Contains("<NewPortMappingDescription>a&lt;b&amp;c</NewPortMappingDescription>", request, StringComparison.Ordinal);

        UpnpSoapResult ok = UpnpCodec.ParseSoapResponse("""
            <s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>
            <u:GetExternalIPAddressResponse xmlns:u="urn:schemas-upnp-org:service:WANIPConnection:1"><NewExternalIPAddress>203.0.113.9</NewExternalIPAddress></u:GetExternalIPAddressResponse>
            </s:Body></s:Envelope>
            """, "GetExternalIPAddress");
        Assert.True(ok.IsSuccess);
        Assert.Equal("203.0.113.9", ok.Values["NewExternalIPAddress"]);

        UpnpSoapResult fault = UpnpCodec.ParseSoapResponse("""
            <s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring>
            <detail><UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>725</errorCode><errorDescription>OnlyPermanentLeasesSupported</errorDescription></UPnPError></detail>
            </s:Fault></s:Body></s:Envelope>
            """, "AddPortMapping");
        Assert.Equal(725, fault.ErrorCode);
        Assert.Equal("OnlyPermanentLeasesSupported", fault.ErrorDescription);

        Assert.Contains("neither AddPortMappingResponse", Assert.Throws<PeerException>(() => UpnpCodec.ParseSoapResponse("<a/>", "AddPortMapping")).Message, StringComparison.Ordinal);
        Assert.Contains("not a number", Assert.Throws<PeerException>(() => UpnpCodec.ParseSoapResponse("<s:Fault xmlns:s=\"x\"><errorCode>boom</errorCode></s:Fault>", "A")).Message, StringComparison.Ordinal);
        Assert.Contains("Malformed SOAP", Assert.Throws<PeerException>(() => UpnpCodec.ParseSoapResponse("<a><b></a>", "A")).Message, StringComparison.Ordinal);
        Assert.Contains("longer than", Assert.Throws<PeerException>(() => UpnpCodec.ParseSoapResponse(new string('x', UpnpCodec.MaxSoapResponse + 1), "A")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Random_bytes_never_crash_the_binary_parsers()
    {
        var random = new Random(6886);
        for (int i = 0; i < 20_000; i++)
        {
            byte[] bytes = new byte[random.Next(0, 80)];
            random.NextBytes(bytes);
            if (bytes.Length > 0 && random.Next(2) == 0)
            {
                bytes[0] = (byte)random.Next(3);
            }
            try
            {
                NatPmpCodec.Parse(bytes);
            }
            catch (PeerException)
            {
            }
            try
            {
                PcpCodec.Parse(bytes);
            }
            catch (PeerException)
            {
            }
            try
            {
                UpnpCodec.ParseSsdpResponse(bytes);
            }
            catch (PeerException)
            {
            }
        }
    }
}
