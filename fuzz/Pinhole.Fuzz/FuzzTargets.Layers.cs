using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Text;
using Pinhole.Codecs;
using Pinhole.Membership;
using Pinhole.Nat;
using Pinhole.Nat.Dcutr.Protocol;
using Pinhole.Nat.Mapping;
using Pinhole.Nat.Relay;
using Pinhole.Nat.Relay.Protocol;
using Pinhole.Vpn;
using Pinhole.Vpn.Config;
using Pinhole.Vpn.DataPlane;
using Pinhole.Vpn.Offload;
using Pinhole.Vpn.Packets;
using Pinhole.Vpn.Routing;

namespace Pinhole.Fuzz;

/// <summary>
/// Targets for the parsers of the layers above Core: NAT traversal (STUN, NAT-PMP, PCP, UPnP, circuit relay v2,
/// DCUtR), membership (records, coordinator messages, invites, sealed requests, the cache file) and the VPN (data
/// plane datagrams, inbound IP packets through GRO, addresses and prefixes from configuration). Part of
/// <see cref="FuzzTargets.All"/>.
/// </summary>
public static partial class FuzzTargets
{
    private const string Nat = "Pinhole.Nat";
    private const string Membership = "Pinhole.Membership";
    private const string Vpn = "Pinhole.Vpn";

    private static readonly Uri Gateway = new("http://10.1.0.1:5000/rootDesc.xml");

    private static FuzzTarget[] LayerTargets() =>
    [
        new("varint", [Core], Layers.Varints, Expect.Format),
        new("multibase", [Core], d => Multibase.Decode(Text(d)), Expect.Format),
        new("circuit-address", [Core], d => CircuitAddress.Parse(Text(d)), Expect.Format),
        new("stun", [Core, Nat], Layers.Stun, Expect.Nothing),
        new("stun-server", [Core, Nat], Layers.StunServer, Expect.Nothing),
        new("nat-pmp", [Core, Nat], d => NatPmpCodec.Parse(d), Expect.Format),
        new("pcp", [Core, Nat], d => PcpCodec.Parse(d), Expect.Format),
        new("upnp-ssdp", [Core, Nat], d => UpnpCodec.ParseSsdpResponse(d), Expect.Format),
        new("upnp-description", [Core, Nat], d => UpnpCodec.ParseDescription(Text(d), Gateway), Expect.Format),
        new("upnp-soap", [Core, Nat], d => UpnpCodec.ParseSoapResponse(Text(d), "AddPortMapping"), Expect.Format),
        new("relay-hop", [Core, Nat], Layers.RelayHop, Expect.Format),
        new("relay-stop", [Core, Nat], Layers.RelayStop, Expect.Format),
        new("relay-frames", [Core, Nat], Layers.RelayFrames, Expect.Format),
        new("relay-voucher", [Core, Nat], d => ReservationVoucher.Open(d), Expect.Format),
        new("dcutr", [Core, Nat], Layers.Dcutr, Expect.Format),
        new("udp-punch-signal", [Core, Nat], Layers.UdpPunchSignals, Expect.Peer),
        new("turn-channel-data", [Core, Nat], d => _ = TurnChannelData.TryParse(d, out _, out _, out _), Expect.Nothing),
        new("turn-stream-framing", [Core, Nat], d => _ = TurnStreamFraming.Measure(d, out _, out _, out _), Expect.Nothing),
        new("network-record", [Core, Membership], d => NetworkRecord.Decode(d), Expect.Format),
        new("coordinator-message", [Core, Membership], Layers.CoordinatorMessages, Expect.Format),
        new("invite-code", [Core, Membership], d => InviteCode.Parse(Text(d)).Dispose(), Expect.Format),
        new("invite-body", [Core, Membership], d => InviteCode.Decode(d).Dispose(), Expect.Format),
        new("sealed-request", [Core, Membership], d => SealedRequest.Decode(d), Expect.Format),
        new("network-cache", [Core, Membership], d => NetworkCache.Decode(d), Expect.Format),
        new("network-id", [Core, Membership], d => NetworkId.Parse(Text(d)), Expect.Format),
        new("sealing-key-pem", [Core, Membership], d => SealingKey.ImportPem(Text(d)).Dispose(), Expect.Format),
        new("vpn-datagram", [Vpn], Layers.VpnDatagram, Expect.Nothing),
        new("vpn-inbound-packets", [Vpn], Layers.InboundPackets, Expect.Nothing),
        new("vpn-addresses", [Vpn], Layers.VpnAddresses, Expect.Nothing),
        new("vpn-config", [Vpn], d => VpnConfig.Parse(d), Expect.Format),
        new("vpn-relay-frames", [Vpn], d => RelayFrame.ReadAll(d), Expect.Nothing),
    ];

    private static class Layers
    {
        public static void UdpPunchSignals(ReadOnlySpan<byte> data)
        {
            while (!data.IsEmpty)
            {
                _ = UdpPunchSignal.Parse(data, out var consumed);
                data = data[consumed..];
            }
        }

        public static void Varints(ReadOnlySpan<byte> data)
        {
            Span<byte> again = stackalloc byte[Varint.MaxLength];
            while (!data.IsEmpty)
            {
                var status = Varint.TryRead(data, out var value, out var read);
                if (status != Varint.ReadStatus.Done)
                {
                    _ = Varint.Read(data, out _); // the throwing form must agree: FormatException
                    throw new FuzzFindingException($"Varint.TryRead said {status} but Read accepted the input.");
                }
                var written = Varint.Write(again, value);
                if (written != Varint.GetLength(value) || written > read)
                {
                    throw new FuzzFindingException($"Varint {value} read from {read} bytes re-encodes to {written}.");
                }
                data = data[read..];
            }
        }

        public static void Stun(ReadOnlySpan<byte> data)
        {
            _ = DatagramClassifier.Classify(data);
            var looks = StunMessage.LooksLikeStun(data);
            if (StunMessage.TryParse(data, out var message, out var error))
            {
                _ = message.ToString();
            }
            else if (error is null)
            {
                throw new FuzzFindingException("StunMessage.TryParse failed without saying why.");
            }
            _ = looks;
        }

        private static readonly IPEndPoint Source = new(IPAddress.Parse("192.0.2.7"), 40000);
        private static readonly IPEndPoint Local = new(IPAddress.Parse("198.51.100.1"), 3478);
        private static readonly IPEndPoint Other = new(IPAddress.Parse("198.51.100.2"), 3479);

        /// <summary>The STUN server's answer to any datagram (a reflector: it must never throw or echo garbage).</summary>
        public static void StunServer(ReadOnlySpan<byte> data)
        {
            var response = Pinhole.Nat.StunServer.CreateResponse(data, Source, Local, Other, "pinhole-fuzz", out _);
            if (response is not null && !StunMessage.TryParse(response, out _, out var error))
            {
                throw new FuzzFindingException($"The STUN server answered with a message it cannot parse itself: {error}");
            }
        }

        public static void RelayHop(ReadOnlySpan<byte> data)
        {
            var message = HopMessage.Parse(data);
            _ = HopMessage.Parse(message.Encode()); // what we parsed, we can write and read back
        }

        public static void RelayStop(ReadOnlySpan<byte> data)
        {
            var message = StopMessage.Parse(data);
            _ = StopMessage.Parse(message.Encode());
        }

        public static void Dcutr(ReadOnlySpan<byte> data)
        {
            var message = HolePunchMessage.Parse(data);
            if (message.Addresses.Count > HolePunchMessage.MaxAddresses)
            {
                throw new FuzzFindingException($"{message.Addresses.Count} addresses kept, more than {HolePunchMessage.MaxAddresses}.");
            }
            _ = HolePunchMessage.Parse(message.Encode());
        }

        /// <summary>A stream of varint-prefixed messages, as the relay protocols read them, each parsed as a hop message.</summary>
        public static void RelayFrames(ReadOnlySpan<byte> data)
        {
            var buffer = new ReadOnlySequence<byte>(data.ToArray());
            while (DelimitedMessage.TryRead(buffer, out var body, out var consumed) == DelimitedMessage.ReadStatus.Done)
            {
                try
                {
                    _ = HopMessage.Parse(body.ToArray());
                }
                catch (FormatException)
                {
                }
                buffer = buffer.Slice(consumed);
            }
        }

        public static void CoordinatorMessages(ReadOnlySpan<byte> data)
        {
            var message = CoordinatorMessage.Decode(data);
            _ = message.ToString();
            _ = CoordinatorMessage.Decode(message.Encode());
        }

        public static void VpnDatagram(ReadOnlySpan<byte> data)
        {
            if (WireFormat.TryReadDataHeader(data, out _, out _))
            {
                _ = WireFormat.TryReadControl(data[WireFormat.DataHeaderLength..^WireFormat.TagLength], out _, out _);
            }
            _ = WireFormat.TryReadControl(data, out _, out _);
        }

        /// <summary>
        /// Decrypted packets from a peer on their way to the TUN: the header checks, the ICMP "too big" answer and
        /// GRO coalescing over a batch (the input split into packets by 2-byte length prefixes).
        /// </summary>
        public static void InboundPackets(ReadOnlySpan<byte> data)
        {
            var packets = new List<PacketRef>();
            var bytes = data.ToArray();
            var at = 0;
            while (at + 2 <= bytes.Length && packets.Count < GroCoalescer.MaxSegments * 2)
            {
                var length = Math.Min(BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(at)), bytes.Length - at - 2);
                packets.Add(new PacketRef(bytes, at + 2, length));
                at += 2 + length;
            }
            var output = new byte[GroCoalescer.MaxLength + 1280];
            foreach (var packet in packets)
            {
                var span = packet.Span;
                var version = IpHeader.Version(span);
                if (version != 0)
                {
                    _ = IpHeader.Source(span, version);
                    _ = IpHeader.Destination(span, version);
                    _ = IpHeader.DeclaredLength(span, version);
                }
                var n = IcmpTooBig.Build(span, 1280, output);
                if (n > output.Length)
                {
                    throw new FuzzFindingException($"IcmpTooBig wrote {n} bytes into {output.Length}.");
                }
            }
            // GRO rewrites the headers of the packets it merges: run it on a copy, as the TUN writer owns its batch.
            var gro = new GroCoalescer();
            var batch = packets.ToArray();
            gro.Coalesce(batch, tcp: true, udp: true);
            for (var group = 0; group < gro.GroupCount; group++)
            {
                if (gro.Length(group) > GroCoalescer.MaxLength)
                {
                    throw new FuzzFindingException($"A GRO group of {gro.Length(group)} bytes, more than {GroCoalescer.MaxLength}.");
                }
                _ = gro.CopyGroup(batch, group, output);
            }
        }

        /// <summary>Interface addresses and route prefixes as the configuration file and the CLI give them.</summary>
        public static void VpnAddresses(ReadOnlySpan<byte> data)
        {
            var text = Text(data);
            if (IpPrefix.TryParse(text, out var prefix) && !IpPrefix.TryParse(prefix.ToString(), out _))
            {
                throw new FuzzFindingException($"Prefix '{text}' parsed as {prefix}, which does not parse again.");
            }
            if (InterfaceAddress.TryParse(text, out var address) && !InterfaceAddress.TryParse(address.ToString(), out _))
            {
                throw new FuzzFindingException($"Interface address '{text}' parsed as {address}, which does not parse again.");
            }
        }

        private static string Text(ReadOnlySpan<byte> data) => Encoding.UTF8.GetString(data);
    }
}
