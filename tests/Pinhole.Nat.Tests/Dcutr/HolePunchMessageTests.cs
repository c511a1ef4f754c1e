using Pinhole.Nat.Dcutr;
using Pinhole.Nat.Dcutr.Protocol;
using Pinhole.Nat.Tests.Support;

namespace Pinhole.Nat.Tests.Dcutr;

public sealed class HolePunchMessageTests
{
    private static readonly Multiaddr Address = Multiaddr.Parse("/ip4/198.51.100.1/tcp/4001");

    [Fact]
    public void KnownBytes()
    {
        Assert.Equal("08ac02", Convert.ToHexStringLower(new HolePunchMessage(HolePunchType.Sync, []).Encode()));
        Assert.Equal("0864120804c6336401060fa1", Convert.ToHexStringLower(new HolePunchMessage(HolePunchType.Connect, [Address]).Encode()));
        var parsed = HolePunchMessage.Parse(Convert.FromHexString("0864120804c6336401060fa1"));
        Assert.Equal(HolePunchType.Connect, parsed.Type);
        Assert.Equal(Address, Assert.Single(parsed.Addresses));
    }

    [Theory]
    [InlineData("", "no type")]
    [InlineData("1200", "no type")]
    [InlineData("0801", "neither CONNECT")]
    [InlineData("08c801", "neither CONNECT")]
    [InlineData("0864120a", "declares")]
    [InlineData("0a00", "wire type")]
    public void HostileMessagesGetAFormatException(string hex, string expected)
    {
        var e = Assert.Throws<FormatException>(() => HolePunchMessage.Parse(Convert.FromHexString(hex)));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UndecodableAndSurplusAddressesAreSkipped()
    {
        var writer = new Pinhole.Codecs.ProtobufWriter();
        writer.WriteVarint(1, 100);
        writer.WriteBytes(2, [0xff, 0xff, 0x03]);
        for (var i = 0; i < 40; i++)
        {
            writer.WriteBytes(2, Address.Bytes.Span);
        }
        var parsed = HolePunchMessage.Parse(writer.WrittenSpan);
        Assert.Equal(HolePunchMessage.MaxAddresses, parsed.Addresses.Count);
        Assert.Equal(1 + 40 - HolePunchMessage.MaxAddresses, parsed.SkippedAddresses);
    }

    [Fact]
    public void PredictionPairsObservedAddressesWithTheListenPort()
    {
        var predicted = DcutrService.PredictAddresses(
            [
                Multiaddr.Parse("/ip4/198.51.100.2/tcp/40001"),
                Multiaddr.Parse("/ip4/198.51.100.2/tcp/40002/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"),
                Multiaddr.Parse("/ip4/203.0.113.9/udp/4001/quic-v1"),
                Multiaddr.Parse("/ip6/2001:db8::1/tcp/5"),
                Multiaddr.Parse("/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN/p2p-circuit"),
            ],
            4001);
        Assert.Equal(["/ip4/198.51.100.2/tcp/4001", "/ip6/2001:db8::1/tcp/4001"], predicted.Select(a => a.ToString()));
    }

    [JsFact]
    [Trait("Category", "Interop")]
    public async Task EncodingMatchesJsLibp2pDcutr()
    {
        var events = await JsNode.RunAsync("vectors", "--peer", "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN", "--addr", Address.ToString());
        var v = Assert.Single(events, e => e.GetProperty("event").GetString() == "vectors");
        Assert.Equal(v.GetProperty("holePunchConnect").GetString(), Convert.ToHexStringLower(new HolePunchMessage(HolePunchType.Connect, [Address]).Encode()));
        Assert.Equal(v.GetProperty("holePunchSync").GetString(), Convert.ToHexStringLower(new HolePunchMessage(HolePunchType.Sync, []).Encode()));
    }
}
