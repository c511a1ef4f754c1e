using System.Security.Cryptography;
using Pinhole.Codecs;
using Pinhole.Membership;

namespace Pinhole.Coordinator.Tests.Trust;

/// <summary>Field 7 of the endpoint record: the VPN data plane's UDP endpoints, beside an unmodified libp2p peer record.</summary>
public sealed class EndpointTunnelTests : IDisposable
{
    private static readonly DateTimeOffset T0 = TestNetwork.T0;
    private readonly TestNetwork _net = new();
    private readonly NodeIdentity _node = NodeIdentity.Generate(Libp2pKeyType.Ed25519);

    [Fact]
    public void RoundTrip_WithTunnel()
    {
        Multiaddr[] tunnel = [Multiaddr.Parse("/ip4/198.51.100.2/udp/51820"), Multiaddr.Parse("/ip6/2001:db8::2/udp/51820")];
        var dtls = Multiaddr.Parse($"/ip4/198.51.100.2/udp/4001/p2p/{_node.PeerId}");
        var record = EndpointRecord.Create(_node, _net.Id, [dtls], 3, EndpointNatType.Open, default, T0, tunnel);
        var decoded = Assert.IsType<EndpointRecord>(NetworkRecord.Decode(record.Encoded.Span));
        Assert.Equal(tunnel, decoded.Tunnel);
        Assert.Equal([dtls], decoded.Addresses);
        Assert.Equal(record.Id, decoded.Id);
        // The libp2p peer record is untouched: it carries the node's addresses only, as any libp2p stack reads them.
        Assert.Equal([dtls], PeerRecord.Open(decoded.PeerRecordEnvelope.Encoded.Span).Addresses);
    }

    [Fact]
    public void RoundTrip_WithoutTunnel_IsStillValid()
    {
        var record = EndpointRecord.Create(_node, _net.Id, [Multiaddr.Parse("/ip4/127.0.0.1/tcp/4001")], 3, EndpointNatType.Open, default, T0);
        var decoded = Assert.IsType<EndpointRecord>(NetworkRecord.Decode(record.Encoded.Span));
        Assert.Empty(decoded.Tunnel);
        // And its bytes have no field 7 (records from nodes before field 7 read the same).
        Assert.DoesNotContain(7, Fields(decoded.Envelopes[1].Payload.ToArray()));
    }

    [Fact]
    public void AtMostEight()
    {
        var nine = Enumerable.Range(1, 9).Select(i => Multiaddr.Parse($"/ip4/10.0.0.{i}/udp/51820").Bytes.ToArray()).ToArray();
        Assert.Equal(8, Assert.IsType<EndpointRecord>(NetworkRecord.Decode(Forged(nine[..8]))).Tunnel.Count);
        Assert.Contains("more than 8 tunnel endpoints", Assert.Throws<FormatException>(() => NetworkRecord.Decode(Forged(nine))).Message);
        Assert.Throws<ArgumentException>(() => EndpointRecord.Create(_node, _net.Id, [], 1, EndpointNatType.Open, default, T0,
            [.. nine.Select(b => Multiaddr.FromBytes(b))]));
    }

    [Theory]
    [InlineData("/ip4/10.0.0.1/tcp/51820", "is not /ip4|ip6/A/udp/P")]
    [InlineData("/ip4/10.0.0.1/udp/51820/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA", "multiaddr is at most 21")]
    [InlineData("/ip4/10.0.0.1/udp/51820/quic-v1", "is not /ip4|ip6/A/udp/P")]
    [InlineData("/dns4/example.com/udp/51820", "is not /ip4|ip6/A/udp/P")]
    [InlineData("/ip4/10.0.0.1", "is not /ip4|ip6/A/udp/P")]
    [InlineData("/ip4/10.0.0.1/udp/0", "no port or an unspecified address")]
    [InlineData("/ip4/0.0.0.0/udp/51820", "no port or an unspecified address")]
    [InlineData("/ip6/::/udp/51820", "no port or an unspecified address")]
    [InlineData("/ip4/239.1.2.3/udp/51820", "multicast, broadcast or link-local")]
    [InlineData("/ip4/255.255.255.255/udp/51820", "multicast, broadcast or link-local")]
    [InlineData("/ip4/169.254.1.1/udp/51820", "multicast, broadcast or link-local")]
    [InlineData("/ip6/ff02::1/udp/51820", "multicast, broadcast or link-local")]
    [InlineData("/ip6/fe80::1/udp/51820", "multicast, broadcast or link-local")]
    public void OnlyIpUdp(string address, string error)
    {
        var bytes = Multiaddr.Parse(address).Bytes.ToArray();
        Assert.Contains(error, Assert.Throws<FormatException>(() => NetworkRecord.Decode(Forged([bytes]))).Message);
        Assert.Throws<ArgumentException>(() => EndpointRecord.Create(_node, _net.Id, [], 1, EndpointNatType.Open, default, T0, [Multiaddr.Parse(address)]));
    }

    [Fact]
    public void BadBytes_ArePreciseErrors()
    {
        var ok = Multiaddr.Parse("/ip4/10.0.0.1/udp/51820").Bytes.ToArray();
        // Over the longest ip+udp multiaddr: refused before it is decoded.
        Assert.Contains("at most 21", Assert.Throws<FormatException>(() => NetworkRecord.Decode(Forged([new byte[22]]))).Message);
        Assert.Contains("not a valid multiaddr", Assert.Throws<FormatException>(() => NetworkRecord.Decode(Forged([[0x04, 10, 0]]))).Message);
        Assert.Contains("endpoint / is not /ip4|ip6/A/udp/P", Assert.Throws<FormatException>(() => NetworkRecord.Decode(Forged([[]]))).Message);
        Assert.Contains("appears twice", Assert.Throws<FormatException>(() => NetworkRecord.Decode(Forged([ok, ok]))).Message);
    }

    // An endpoint payload signed by the node with the given field 7 entries (bypassing Create's checks).
    private byte[] Forged(byte[][] tunnel)
    {
        var peerRecord = new PeerRecord(_node.PeerId, 9, [Multiaddr.Parse("/ip4/127.0.0.1/tcp/4001")]).Seal(_node);
        var w = new ProtobufWriter();
        w.WriteBytes(1, _net.Id.Bytes.Span);
        w.WriteBytes(2, SHA256.HashData(peerRecord.Payload.Span));
        w.WriteVarint(3, 9);
        w.WriteVarint(6, (ulong)T0.ToUnixTimeSeconds());
        foreach (var t in tunnel)
        {
            w.WriteBytes(7, t);
        }
        var endpoint = Forge.Sign(_node, "pinhole-endpoint-v1", "/pinhole/endpoint/1", w.ToArray());
        return Forge.Blob(RecordKind.Endpoint, peerRecord, endpoint);
    }

    // The numbers of a payload's top-level fields.
    private static List<int> Fields(byte[] payload)
    {
        var numbers = new List<int>();
        var reader = new ProtobufReader(payload);
        while (reader.TryReadField())
        {
            numbers.Add(reader.FieldNumber);
            reader.Skip();
        }
        return numbers;
    }

    public void Dispose()
    {
        _net.Dispose();
        _node.Dispose();
    }
}
