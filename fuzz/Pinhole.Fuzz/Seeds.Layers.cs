using System.Net;
using System.Text;
using Pinhole.Codecs;
using Pinhole.Membership;
using Pinhole.Nat;
using Pinhole.Nat.Dcutr.Protocol;
using Pinhole.Nat.Relay;
using Pinhole.Nat.Relay.Protocol;

namespace Pinhole.Fuzz;

/// <summary>Seeds for <see cref="FuzzTargets"/>' layer targets (NAT, membership, VPN), made with our encoders where they exist.</summary>
internal static class LayerSeeds
{
    private static readonly DateTimeOffset T0 = new(2030, 1, 1, 12, 0, 0, TimeSpan.Zero);

    public static IEnumerable<byte[]> For(string target, NodeIdentity ed, NodeIdentity ec)
    {
        var relayAddress = Multiaddr.Parse($"/ip4/198.51.100.1/tcp/4001/p2p/{ed.PeerId}");
        switch (target)
        {
            case "varint":
                yield return [0x00, 0x7f, 0x80, 0x01, 0xff, 0xff, 0x03];
                yield return [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f];
                break;
            case "multibase":
                yield return Encoding.UTF8.GetBytes(Multibase.EncodeBase32([1, 2, 3, 250]));
                yield return Encoding.UTF8.GetBytes(Multibase.EncodeBase64Url("pinhole"u8));
                yield return "z2NEpo7TZRRrLZSi2U"u8.ToArray();
                break;
            case "circuit-address":
                yield return Encoding.UTF8.GetBytes($"{relayAddress}/p2p-circuit/p2p/{ec.PeerId}");
                yield return Encoding.UTF8.GetBytes($"{relayAddress}/p2p-circuit");
                break;
            case "stun":
            case "stun-server":
                yield return StunMessageBuilder.Request(StunMethod.Binding).AddFingerprint().ToArray();
                yield return StunMessageBuilder.Request(StunMethod.Binding).AddChangeRequest(true, true).AddText(StunAttributeType.Software, "fuzz").AddFingerprint().ToArray();
                yield return new StunMessageBuilder(StunMethod.Binding, StunClass.SuccessResponse, StunTransactionId.NewRandom())
                    .AddXorAddress(StunAttributeType.XorMappedAddress, new IPEndPoint(IPAddress.Parse("203.0.113.9"), 50000))
                    .AddMessageIntegrity("key"u8).AddFingerprint().ToArray();
                yield return new StunMessageBuilder(StunMethod.Binding, StunClass.ErrorResponse, StunTransactionId.NewRandom())
                    .AddErrorCode(420, "Unknown Attribute").AddUnknownAttributes([0x0777]).ToArray();
                break;
            case "nat-pmp":
                // External address response: version 0, op 128, result 0, epoch, address.
                yield return [0, 128, 0, 0, 0, 0, 0x10, 0, 203, 0, 113, 7];
                // UDP mapping response: op 129, internal port 4001, external port 40001, lifetime 7200.
                yield return [0, 129, 0, 0, 0, 0, 0x10, 0, 0x0f, 0xa1, 0x9c, 0x41, 0, 0, 0x1c, 0x20];
                yield return [0, 130, 0, 3, 0, 0, 0x10, 0, 0x0f, 0xa1, 0, 0, 0, 0, 0, 0];
                break;
            case "pcp":
                yield return Pcp(0x81, 0); // MAP response, success
                yield return Pcp(0x81, 8); // NO_RESOURCES
                yield return Pcp(0x80, 0)[..24]; // ANNOUNCE response: header only
                yield return [0, 128 + 1, 0, 1]; // NAT-PMP answering a PCP request: unsupported version
                break;
            case "upnp-ssdp":
                yield return "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nLOCATION: http://10.1.0.1:5000/rootDesc.xml\r\nSERVER: miniupnpd\r\n\r\n"u8.ToArray();
                break;
            case "upnp-description":
                yield return Encoding.UTF8.GetBytes("""
                    <?xml version="1.0"?>
                    <root xmlns="urn:schemas-upnp-org:device-1-0"><specVersion><major>1</major><minor>0</minor></specVersion>
                    <device><deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>
                    <deviceList><device><deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType>
                    <deviceList><device><deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType>
                    <serviceList><service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>
                    <serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId><controlURL>/ctl/IPConn</controlURL>
                    <eventSubURL>/evt/IPConn</eventSubURL><SCPDURL>/WANIPCn.xml</SCPDURL></service></serviceList>
                    </device></deviceList></device></deviceList></device></root>
                    """);
                break;
            case "upnp-soap":
                yield return Encoding.UTF8.GetBytes("""
                    <?xml version="1.0"?>
                    <s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">
                    <s:Body><u:AddPortMappingResponse xmlns:u="urn:schemas-upnp-org:service:WANIPConnection:1"/></s:Body></s:Envelope>
                    """);
                yield return Encoding.UTF8.GetBytes("""
                    <?xml version="1.0"?>
                    <s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode>s:Client</faultcode>
                    <faultstring>UPnPError</faultstring><detail><UPnPError xmlns="urn:schemas-upnp-org:control-1-0">
                    <errorCode>718</errorCode><errorDescription>ConflictInMappingEntry</errorDescription></UPnPError></detail></s:Fault></s:Body></s:Envelope>
                    """);
                break;
            case "relay-hop":
            case "relay-frames":
                var voucher = ReservationVoucher.Seal(ed, ec.PeerId, 1_900_000_000);
                byte[][] hops =
                [
                    new HopMessage(HopMessageType.Reserve).Encode(),
                    new HopMessage(HopMessageType.Connect, new RelayPeer(ec.PeerId, [Multiaddr.Parse("/ip4/192.0.2.1/tcp/4001")])).Encode(),
                    new HopMessage(HopMessageType.Status,
                        Reservation: new ReservationInfo(1_900_000_000, [relayAddress], voucher.Envelope.Encoded),
                        Limit: new LimitInfo(120, 1 << 17), Status: RelayStatus.Ok).Encode(),
                ];
                if (target == "relay-hop")
                {
                    foreach (var hop in hops)
                    {
                        yield return hop;
                    }
                }
                else
                {
                    yield return [.. hops.SelectMany(h => DelimitedMessage.Frame(h))];
                }
                break;
            case "relay-stop":
                yield return new StopMessage(StopMessageType.Connect, new RelayPeer(ec.PeerId, []), new LimitInfo(120, 1 << 17)).Encode();
                yield return new StopMessage(StopMessageType.Status, Status: RelayStatus.Ok).Encode();
                break;
            case "relay-voucher":
                yield return ReservationVoucher.Seal(ed, ec.PeerId, 1_900_000_000).Envelope.Encoded.ToArray();
                break;
            case "dcutr":
                yield return new HolePunchMessage(HolePunchType.Connect, [Multiaddr.Parse("/ip4/203.0.113.9/tcp/4001"), Multiaddr.Parse("/ip4/203.0.113.9/udp/4001/quic-v1")]).Encode();
                yield return new HolePunchMessage(HolePunchType.Sync, []).Encode();
                break;
            case "network-record":
            case "coordinator-message":
            case "network-cache":
            case "network-id":
                using (var network = new SampleNetwork(ed))
                {
                    var records = network.Records();
                    switch (target)
                    {
                        case "network-record":
                            foreach (var record in records)
                            {
                                yield return record.Encoded.ToArray();
                            }
                            break;
                        case "coordinator-message":
                            yield return new CoordinatorMessage(CoordinatorMessageType.Subscribe) { Network = network.Id, Cursor = 7 }.Encode();
                            yield return new CoordinatorMessage(CoordinatorMessageType.Publish) { Network = network.Id, Records = [.. records.Select(r => r.Encoded)] }.Encode();
                            yield return CoordinatorMessage.Failure(MembershipError.Malformed, "who are you?").Encode();
                            break;
                        case "network-cache":
                            yield return NetworkCache.Encode(network.Id, 3, records);
                            break;
                        default:
                            yield return Encoding.UTF8.GetBytes(network.Id.ToString());
                            break;
                    }
                }
                break;
            case "invite-code":
            case "invite-body":
                using (var network = new SampleNetwork(ed))
                using (var code = network.InviteCode())
                {
                    var text = code.ToString();
                    yield return target == "invite-code"
                        ? Encoding.UTF8.GetBytes(text)
                        : Base32.Decode(text.AsSpan(InviteCode.Prefix.Length));
                }
                break;
            case "sealed-request":
                using (var network = new SampleNetwork(ed))
                using (var recipientSeal = SealingKey.Generate())
                {
                    yield return SealedRequest.Seal(ec, network.Id, ed.PeerId, recipientSeal.PublicKey.Span, "hello"u8, T0, TimeSpan.FromMinutes(5)).Envelope.Encoded.ToArray();
                }
                break;
            case "sealing-key-pem":
                using (var key = SealingKey.Generate())
                {
                    yield return Encoding.UTF8.GetBytes(key.ExportPem());
                }
                break;
            case "vpn-datagram":
                yield return [0x06, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 0x01, 0x01, 0, 0, 0, 42, .. new byte[16]];
                yield return [0x04, 0x16, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00];
                break;
            case "vpn-relay-frames":
                yield return [0, 18, 0x06, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9, .. new byte[5], 0, 2, 0x04, 0x16, 0, 1, 0x05];
                yield return [0, 3, 0x06, 1];
                break;
            case "vpn-inbound-packets":
                yield return [.. Prefixed(Tcp4(1000, 0x18, 100)), .. Prefixed(Tcp4(1100, 0x18, 100)), .. Prefixed(Tcp4(1200, 0x19, 50))];
                yield return [.. Prefixed(Udp4(60)), .. Prefixed(Udp4(60)), .. Prefixed(Tcp4(1, 0x02, 0))];
                yield return [.. Prefixed(Tcp4(1000, 0x18, 1400)), .. Prefixed(Ipv6Udp(1400))];
                break;
            case "vpn-addresses":
                yield return "10.7.0.1/24"u8.ToArray();
                yield return "fd07::1/64"u8.ToArray();
                yield return "0.0.0.0/0"u8.ToArray();
                yield return "192.168.1.7"u8.ToArray();
                break;
            case "udp-punch-signal":
                yield return [.. UdpPunchSignal.Encode(new UdpPunchOffer(new UdpPunchCredentials("abcd1234", "0123456789abcdef0123"),
                    NatMappingBehavior.EndpointIndependent, NatFilteringBehavior.AddressAndPortDependent,
                    [new UdpCandidate(UdpCandidateKind.ServerReflexive, new IPEndPoint(IPAddress.Parse("203.0.113.7"), 40000))])),
                    .. UdpPunchSignal.EncodeRefusal("busy"), .. UdpPunchSignal.EncodeTurn(new IPEndPoint(IPAddress.Parse("203.0.113.9"), 49152), answer: true)];
                yield return UdpPunchSignal.Encode(new UdpPunchOffer(new UdpPunchCredentials("ffff0000", "abcdefghijklmnopqrstuvwxyz"),
                    NatMappingBehavior.AddressAndPortDependent, NatFilteringBehavior.Unknown,
                    [new UdpCandidate(UdpCandidateKind.Host, new IPEndPoint(IPAddress.IPv6Loopback, 9))]), answer: true);
                break;
            case "turn-channel-data":
                yield return [0x40, 0x00, 0x00, 0x04, .. "abcd"u8];
                yield return [0x40, 0x01, 0x00, 0x03, .. "xyz"u8, 0x00];
                break;
            case "turn-stream-framing":
                yield return [0x00, 0x01, 0x00, 0x00];
                yield return [0x40, 0x00, 0x00, 0x05, 1, 2, 3, 4, 5, 0, 0, 0];
                yield return [0x4f, 0xff, 0xff, 0xff];
                break;
            case "vpn-config":
                yield return Encoding.UTF8.GetBytes(
                    "# a comment\n[Interface]\nName = ph7\nAddress = 10.7.0.1/24, fd07::1/64\nListenPort = 51820\nMTU = 1400\n" +
                    "DisableOffloads = tun-tso, udp-gro\nFwMark = 1234\nTable = 77\n\n[Peer]\nPeerId = " + ed.PeerId +
                    "\nName = laptop   # inline comment\nAllowedIPs = 10.7.0.2/32, fd07::2/128\nEndpoint = 192.0.2.7:51820\nPersistentKeepalive = 25\n");
                yield return Encoding.UTF8.GetBytes(
                    "[Interface]\nAddress = 10.7.0.1/24\n\n[Peer]\nPeerId = " + ec.PeerId + "\nAllowedIPs = 10.7.0.3\nEndpoint = [2001:db8::7]:4000\n");
                break;
            default:
                throw new ArgumentException($"No seeds for '{target}': add them to {nameof(Seeds)}.", nameof(target));
        }
    }

    /// <summary>A PCP response (RFC 6887 §7.2): 24-byte header, then a MAP body (36 bytes) for MAP.</summary>
    private static byte[] Pcp(byte opcode, byte result)
    {
        var bytes = new byte[24 + 36];
        bytes[0] = 2;
        bytes[1] = opcode;
        bytes[3] = result;
        bytes[7] = 0x78; // lifetime 120
        bytes[11] = 0x10; // epoch
        bytes[24 + 12] = 17; // UDP
        bytes[24 + 16] = 0x0f;
        bytes[24 + 17] = 0xa1; // internal port 4001
        bytes[24 + 18] = 0x9c;
        bytes[24 + 19] = 0x41; // external port 40001
        byte[] mapped = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 203, 0, 113, 7];
        mapped.CopyTo(bytes, 24 + 20);
        return bytes;
    }

    private static byte[] Prefixed(byte[] packet) => [(byte)(packet.Length >> 8), (byte)packet.Length, .. packet];

    /// <summary>An IPv4 TCP segment of one flow (10.7.0.2:4000 → 10.7.0.1:80) with <paramref name="payload"/> bytes.</summary>
    private static byte[] Tcp4(uint sequence, byte flags, int payload)
    {
        var packet = new byte[20 + 20 + payload];
        packet[0] = 0x45;
        packet[2] = (byte)(packet.Length >> 8);
        packet[3] = (byte)packet.Length;
        packet[6] = 0x40; // DF
        packet[8] = 64;
        packet[9] = 6;
        byte[] addresses = [10, 7, 0, 2, 10, 7, 0, 1];
        addresses.CopyTo(packet, 12);
        packet[20] = 0x0f;
        packet[21] = 0xa0;
        packet[23] = 80;
        packet[24] = (byte)(sequence >> 24);
        packet[25] = (byte)(sequence >> 16);
        packet[26] = (byte)(sequence >> 8);
        packet[27] = (byte)sequence;
        packet[32] = 0x50;
        packet[33] = flags;
        packet[34] = 0xff;
        return packet;
    }

    private static byte[] Udp4(int payload)
    {
        var packet = new byte[20 + 8 + payload];
        packet[0] = 0x45;
        packet[2] = (byte)(packet.Length >> 8);
        packet[3] = (byte)packet.Length;
        packet[8] = 64;
        packet[9] = 17;
        byte[] addresses = [10, 7, 0, 2, 10, 7, 0, 1];
        addresses.CopyTo(packet, 12);
        packet[21] = 53;
        packet[23] = 53;
        packet[24] = (byte)((8 + payload) >> 8);
        packet[25] = (byte)(8 + payload);
        return packet;
    }

    private static byte[] Ipv6Udp(int payload)
    {
        var packet = new byte[40 + 8 + payload];
        packet[0] = 0x60;
        packet[4] = (byte)((8 + payload) >> 8);
        packet[5] = (byte)(8 + payload);
        packet[6] = 17;
        packet[7] = 64;
        packet[8] = 0xfd;
        packet[9] = 0x07;
        packet[23] = 2;
        packet[24] = 0xfd;
        packet[25] = 0x07;
        packet[39] = 1;
        packet[40 + 1] = 53;
        packet[40 + 3] = 53;
        packet[40 + 4] = (byte)((8 + payload) >> 8);
        packet[40 + 5] = (byte)(8 + payload);
        return packet;
    }

    /// <summary>A one-admin network with a member, a revocation and an invite, signed the way the admin CLI signs.</summary>
    private sealed class SampleNetwork : IDisposable
    {
        private readonly NodeIdentity _admin;
        private readonly NodeIdentity _member = NodeIdentity.Generate(Libp2pKeyType.Ed25519);

        public SampleNetwork(NodeIdentity admin)
        {
            _admin = admin;
            Genesis = GenesisRecord.Create("fuzz-net", new AdminSet([admin.PublicKey], 1),
                IPNetwork.Parse("10.77.0.0/16"), IPNetwork.Parse("fd77::/48"), T0, [admin]);
        }

        public GenesisRecord Genesis { get; }

        public NetworkId Id => Genesis.Network;

        public IReadOnlyList<NetworkRecord> Records() =>
        [
            Genesis,
            MembershipRecord.Issue(_admin, Id, _member.PeerId, IPAddress.Parse("10.77.0.2"), IPAddress.Parse("fd77::2"), ["all"], T0, T0 + TimeSpan.FromDays(30), T0),
            RevocationRecord.Issue(_admin, Id, _member.PeerId, T0 + TimeSpan.FromHours(1), T0 + TimeSpan.FromHours(1), "fuzz"),
            // Field 7 (the VPN data plane's endpoints) beside a peer record that lists the DTLS socket.
            EndpointRecord.Create(_member, Id, [Multiaddr.Parse($"/ip4/192.0.2.7/udp/4001/p2p/{_member.PeerId}")], 7, EndpointNatType.EndpointIndependent, default, T0,
                [Multiaddr.Parse("/ip4/192.0.2.7/udp/51820"), Multiaddr.Parse("/ip6/2001:db8::7/udp/51820")]),
        ];

        public InviteCode InviteCode()
        {
            var key = Pinhole.Membership.InviteCode.GenerateKey();
            var invite = Invite.Create(_admin, Id, key.PublicKey, [Multiaddr.Parse($"/ip4/127.0.0.1/tcp/4100/p2p/{_admin.PeerId}")],
                IPAddress.Parse("10.77.0.3"), IPAddress.Parse("fd77::3"), ["all"], T0, T0 + TimeSpan.FromDays(7), T0 + TimeSpan.FromDays(30));
            return Pinhole.Membership.InviteCode.Create(invite, key);
        }

        public void Dispose() => _member.Dispose();
    }
}
