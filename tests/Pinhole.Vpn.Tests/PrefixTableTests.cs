using System.Net;
using Pinhole.Vpn.Routing;

namespace Pinhole.Vpn.Tests;

public class PrefixTableTests
{
    private sealed record Peer(string Name);

    private static readonly Peer A = new("a"), B = new("b"), C = new("c"), D = new("d");

    private static PrefixTable<Peer> Table(params (string Prefix, Peer Peer)[] entries)
    {
        var builder = new PrefixTable<Peer>.Builder();
        foreach (var (prefix, peer) in entries)
        {
            Assert.True(builder.TryAdd(IpPrefix.Parse(prefix), peer));
        }
        return builder.Build();
    }

    [Fact]
    public void LongestPrefixWins()
    {
        var table = Table(("10.0.0.0/8", A), ("10.1.0.0/16", B), ("10.1.2.3/32", C), ("0.0.0.0/0", D), ("fd00::/8", A), ("fd00:1::/32", B), ("::/0", D));
        Assert.Same(C, table.Lookup(IPAddress.Parse("10.1.2.3")));
        Assert.Same(B, table.Lookup(IPAddress.Parse("10.1.2.4")));
        Assert.Same(A, table.Lookup(IPAddress.Parse("10.2.0.1")));
        Assert.Same(D, table.Lookup(IPAddress.Parse("192.0.2.1")));
        Assert.Same(B, table.Lookup(IPAddress.Parse("fd00:1::9")));
        Assert.Same(A, table.Lookup(IPAddress.Parse("fd00:2::9")));
        Assert.Same(D, table.Lookup(IPAddress.Parse("2001:db8::1")));
        Assert.Same(C, table.Lookup(IPAddress.Parse("::ffff:10.1.2.3")));
    }

    [Fact]
    public void FamiliesAreSeparate()
    {
        var table = Table(("0.0.0.0/0", A));
        Assert.Null(table.Lookup(IPAddress.Parse("::1")));
        Assert.Null(table.Lookup([1, 2, 3]));
        Assert.Same(A, table.Lookup([1, 2, 3, 4]));
    }

    [Fact]
    public void DuplicatePrefix_IsRefused_HostBitsMasked()
    {
        var builder = new PrefixTable<Peer>.Builder();
        Assert.True(builder.TryAdd(IpPrefix.Parse("10.0.0.7/24"), A));
        Assert.False(builder.TryAdd(IpPrefix.Parse("10.0.0.0/24"), B));
        Assert.Same(A, builder.Owner(IpPrefix.Parse("10.0.0.99/24")));
        Assert.Equal("10.0.0.0/24", IpPrefix.Parse("10.0.0.7/24").ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("10.0.0.0/33")]
    [InlineData("fd00::/129")]
    [InlineData("10.0.0.0/-1")]
    [InlineData("10.0.0.0/ 8")]
    [InlineData("nonsense")]
    [InlineData("fe80::1%2/64")]
    public void BadPrefixes_DoNotParse(string text) => Assert.False(IpPrefix.TryParse(text, out _));

    [Fact]
    public void RandomTables_AgreeWithLinearSearch()
    {
        var random = new Random(11);
        for (int round = 0; round < 20; round++)
        {
            bool v6 = round % 2 == 1;
            var builder = new PrefixTable<Peer>.Builder();
            var list = new List<(IpPrefix, Peer)>();
            var peers = Enumerable.Range(0, 5).Select(i => new Peer("p" + i)).ToArray();
            for (int i = 0; i < 200; i++)
            {
                byte[] bytes = new byte[v6 ? 16 : 4];
                random.NextBytes(bytes);
                bytes[0] = (byte)(bytes[0] & 0x0F); // keep them clustered so prefixes overlap
                var prefix = IpPrefix.Create(new IPAddress(bytes), random.Next(0, v6 ? 129 : 33));
                var peer = peers[random.Next(peers.Length)];
                if (builder.TryAdd(prefix, peer))
                {
                    list.Add((prefix, peer));
                }
            }
            var table = builder.Build();
            for (int i = 0; i < 1000; i++)
            {
                byte[] address = new byte[v6 ? 16 : 4];
                random.NextBytes(address);
                address[0] = (byte)(address[0] & 0x0F);
                var expected = list.Where(e => e.Item1.Contains(address)).OrderByDescending(e => e.Item1.Length).Select(e => e.Item2).FirstOrDefault();
                Assert.Same(expected, table.Lookup(address));
            }
        }
    }
}
