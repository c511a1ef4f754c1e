using Pinhole.Codecs;
using Pinhole.Core.Tests.Support;
using Pinhole.Protocols;

namespace Pinhole.Core.Tests;

public class IdentifyProtocolTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static CancellationToken TestToken() => new CancellationTokenSource(Timeout).Token;

    private static IdentifyMessage Sample() => new()
    {
        ProtocolVersion = "ipfs/0.1.0",
        AgentVersion = "pinhole/0.1.0",
        PublicKey = new byte[] { 0x08, 0x01, 0x12, 0x02, 0xaa, 0xbb },
        ListenAddrs = [Multiaddr.Parse("/ip4/127.0.0.1/tcp/4001"), Multiaddr.Parse("/ip6/::1/udp/4001/quic-v1")],
        ObservedAddr = Multiaddr.Parse("/ip4/203.0.113.9/tcp/50000"),
        Protocols = ["/ipfs/id/1.0.0", "/ipfs/ping/1.0.0"],
    };

    private static void AssertSame(IdentifyMessage expected, IdentifyMessage actual)
    {
        Assert.Equal(expected.ProtocolVersion, actual.ProtocolVersion);
        Assert.Equal(expected.AgentVersion, actual.AgentVersion);
        Assert.Equal(expected.PublicKey.ToArray(), actual.PublicKey.ToArray());
        Assert.Equal(expected.ListenAddrs, actual.ListenAddrs);
        Assert.Equal(expected.ObservedAddr, actual.ObservedAddr);
        Assert.Equal(expected.Protocols, actual.Protocols);
    }

    [Fact]
    public void Encoding_uses_the_spec_field_numbers()
    {
        var bytes = new IdentifyMessage
        {
            PublicKey = new byte[] { 0xaa },
            ListenAddrs = [Multiaddr.Parse("/ip4/1.2.3.4/tcp/80")],
            Protocols = ["/p"],
            ObservedAddr = Multiaddr.Parse("/tls"),
            ProtocolVersion = "v",
            AgentVersion = "a",
        }.Encode();
        Assert.Equal(
            "0a01aa" + "1208" + "04010203040600" + "50" + "1a022f70" + "2202c003" + "2a0176" + "320161",
            Convert.ToHexStringLower(bytes));
    }

    [Fact]
    public void Empty_message_encodes_to_nothing_and_decodes_back()
    {
        Assert.Empty(new IdentifyMessage().Encode());
        var m = IdentifyMessage.Decode([]);
        Assert.Null(m.ProtocolVersion);
        Assert.Null(m.AgentVersion);
        Assert.True(m.PublicKey.IsEmpty);
        Assert.Empty(m.ListenAddrs);
        Assert.Null(m.ObservedAddr);
        Assert.Empty(m.Protocols);
    }

    [Fact]
    public void Decode_round_trips_and_skips_unknown_fields()
    {
        var sample = Sample();
        var writer = new ProtobufWriter();
        writer.WriteBytes(8, [1, 2, 3]);        // signedPeerRecord: ignored
        writer.WriteVarint(99, 12345);          // unknown varint
        writer.WriteString(7, "future");        // unknown string
        byte[] bytes = [.. sample.Encode(), .. writer.WrittenSpan];
        AssertSame(sample, IdentifyMessage.Decode(bytes));
    }

    [Fact]
    public void Undecodable_addresses_are_skipped_and_counted()
    {
        var writer = new ProtobufWriter();
        writer.WriteBytes(2, Multiaddr.Parse("/ip4/1.2.3.4/tcp/1").Bytes.Span);
        writer.WriteBytes(2, [0x99, 0x03, 0x00]);   // a protocol outside our table
        writer.WriteBytes(4, [0x04, 0x01]);         // truncated observed address
        var m = IdentifyMessage.Decode(writer.WrittenSpan);
        Assert.Single(m.ListenAddrs);
        Assert.Null(m.ObservedAddr);
        Assert.Equal(2, m.UnreadableAddressCount);
    }

    [Theory]
    [InlineData("0a05aa", "declares 5 bytes")]
    [InlineData("1a02c328", "not valid UTF-8")]
    [InlineData("0b", "wire type 3")]
    [InlineData("2a", "truncated")]
    public void Malformed_protobuf_is_a_format_error(string hex, string expected)
    {
        var e = Assert.Throws<FormatException>(() => IdentifyMessage.Decode(Convert.FromHexString(hex)));
        Assert.Contains(expected, e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Counts_and_sizes_are_limited()
    {
        var writer = new ProtobufWriter();
        for (var i = 0; i <= IdentifyMessage.MaxProtocols; i++)
        {
            writer.WriteString(3, "/p");
        }
        Assert.Contains("more than 512 protocols", Assert.Throws<FormatException>(() => IdentifyMessage.Decode(writer.WrittenSpan)).Message, StringComparison.Ordinal);

        writer = new ProtobufWriter();
        var addr = Multiaddr.Parse("/ip4/1.2.3.4/tcp/1").Bytes.Span;
        for (var i = 0; i <= IdentifyMessage.MaxListenAddrs; i++)
        {
            writer.WriteBytes(2, addr);
        }
        Assert.Contains("more than 128 listen addresses", Assert.Throws<FormatException>(() => IdentifyMessage.Decode(writer.WrittenSpan)).Message, StringComparison.Ordinal);

        writer = new ProtobufWriter();
        writer.WriteString(6, new string('a', 2000));
        Assert.Contains("agentVersion is longer than 1024", Assert.Throws<FormatException>(() => IdentifyMessage.Decode(writer.WrittenSpan)).Message, StringComparison.Ordinal);

        Assert.Throws<FormatException>(() => IdentifyMessage.Decode(new byte[IdentifyMessage.MaxEncodedLength + 1]));
        Assert.Throws<InvalidOperationException>(() => new IdentifyMessage { PublicKey = new byte[IdentifyMessage.MaxEncodedLength] }.Encode());
    }

    [Fact]
    public async Task Write_then_read_over_a_stream()
    {
        var (a, b) = InMemoryDuplexStream.CreatePair();
        var ct = TestToken();
        var sample = Sample();
        await IdentifyProtocol.WriteAsync(a, sample, ct);
        a.CompleteWrites();
        // On the wire: varint(length) then the protobuf.
        Assert.Equal(sample.Encode().Length + 1, b.Available);
        AssertSame(sample, await IdentifyProtocol.ReadAsync(b, ct));
    }

    [Fact]
    public async Task Parts_are_merged_like_go_libp2p_sends_them()
    {
        var (a, b) = InMemoryDuplexStream.CreatePair();
        var ct = TestToken();
        await IdentifyProtocol.WriteAsync(a, new IdentifyMessage { AgentVersion = "old", Protocols = ["/a"] }, ct);
        await IdentifyProtocol.WriteAsync(a, new IdentifyMessage { AgentVersion = "new", Protocols = ["/b"], ListenAddrs = [Multiaddr.Parse("/ip4/1.1.1.1/tcp/1")] }, ct);
        a.CompleteWrites();
        var m = await IdentifyProtocol.ReadAsync(b, ct);
        Assert.Equal("new", m.AgentVersion);
        Assert.Equal(["/a", "/b"], m.Protocols);
        Assert.Single(m.ListenAddrs);
    }

    [Theory]
    [InlineData("", PeerError.ConnectionClosed, "before any message")]
    [InlineData("05aabb", PeerError.ProtocolViolation, "inside a 5-byte message")]
    [InlineData("80", PeerError.ProtocolViolation, "inside a length prefix")]
    [InlineData("818004", PeerError.ProtocolViolation, "65537 bytes exceeds the limit")]
    [InlineData("ffffff7f", PeerError.ProtocolViolation, "announces more than 65536")]
    [InlineData("020a05", PeerError.ProtocolViolation, "Malformed identify message")]
    public async Task Bad_streams_fail_precisely(string hex, PeerError error, string expected)
    {
        var (a, b) = InMemoryDuplexStream.CreatePair();
        var ct = TestToken();
        await a.WriteAsync(Convert.FromHexString(hex), ct);
        a.CompleteWrites();
        var e = await Assert.ThrowsAsync<PeerException>(() => IdentifyProtocol.ReadAsync(b, ct));
        Assert.Equal(error, e.Error);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Too_many_parts_or_bytes_are_rejected()
    {
        var (a, b) = InMemoryDuplexStream.CreatePair();
        var ct = TestToken();
        for (var i = 0; i <= IdentifyProtocol.MaxParts; i++)
        {
            await a.WriteAsync(new byte[] { 0 }, ct); // empty part
        }
        a.CompleteWrites();
        var e = await Assert.ThrowsAsync<PeerException>(() => IdentifyProtocol.ReadAsync(b, ct));
        Assert.Contains("more than 10 parts", e.Message, StringComparison.Ordinal);

        (a, b) = InMemoryDuplexStream.CreatePair();
        var big = new IdentifyMessage { PublicKey = new byte[40_000] };
        await IdentifyProtocol.WriteAsync(a, big, ct);
        await IdentifyProtocol.WriteAsync(a, big, ct);
        a.CompleteWrites();
        e = await Assert.ThrowsAsync<PeerException>(() => IdentifyProtocol.ReadAsync(b, ct));
        Assert.Contains("longer than 65536 bytes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Silent_peer_is_bounded_by_the_token()
    {
        var (_, b) = InMemoryDuplexStream.CreatePair();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => IdentifyProtocol.ReadAsync(b, cts.Token));
    }

    [Fact]
    public void Random_bytes_only_ever_fail_with_format_errors()
    {
        var random = new Random(7);
        var valid = Sample().Encode();
        for (var i = 0; i < 5000; i++)
        {
            var bytes = (byte[])valid.Clone();
            for (var j = 0; j < 3; j++)
            {
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            }
            try
            {
                _ = IdentifyMessage.Decode(bytes.AsSpan(0, random.Next(bytes.Length + 1)));
            }
            catch (FormatException)
            {
            }
        }
    }
}
