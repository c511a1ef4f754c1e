using System.Buffers;
using Pinhole.Nat.Relay;
using Pinhole.Nat.Relay.Protocol;

namespace Pinhole.Nat.Tests.Relay;

/// <summary>Wire format of hop/stop messages and their framing, including hostile input.</summary>
public sealed class RelayMessageTests
{
    private static readonly PeerId Target = PeerId.Parse("12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN");

    [Fact]
    public void ReserveAndStatusOkHaveTheirKnownBytes()
    {
        Assert.Equal("0800", Convert.ToHexStringLower(new HopMessage(HopMessageType.Reserve).Encode()));
        Assert.Equal("08012064", Convert.ToHexStringLower(new StopMessage(StopMessageType.Status, Status: RelayStatus.Ok).Encode()));
        Assert.Equal("08022864", Convert.ToHexStringLower(new HopMessage(HopMessageType.Status, Status: RelayStatus.Ok).Encode()));
        Assert.Equal("020800", Convert.ToHexStringLower(DelimitedMessage.Frame([0x08, 0x00])));
    }

    [Fact]
    public void ConnectCarriesThePeerMultihash()
    {
        var bytes = new HopMessage(HopMessageType.Connect, new RelayPeer(Target, [])).Encode();
        // 08 01 | 12 len | 0a len multihash
        Assert.Equal(0x08, bytes[0]);
        Assert.Equal(0x01, bytes[1]);
        Assert.Equal(0x12, bytes[2]);
        Assert.Equal(bytes.Length - 4, bytes[3]);
        Assert.Equal(0x0a, bytes[4]);
        Assert.Equal(Target.Multihash.ToArray(), bytes[6..]);
        var parsed = HopMessage.Parse(bytes);
        Assert.Equal(HopMessageType.Connect, parsed.Type);
        Assert.Equal(Target, parsed.Peer!.Id);
    }

    [Fact]
    public void StatusWithReservationAndLimitRoundTrips()
    {
        var addr = Multiaddr.Parse("/ip4/198.51.100.1/tcp/4001/p2p/" + Target);
        var message = new HopMessage(
            HopMessageType.Status,
            Reservation: new ReservationInfo(1_700_000_000, [addr], new byte[] { 1, 2, 3 }),
            Limit: new LimitInfo(120, 131072),
            Status: RelayStatus.Ok);
        var parsed = HopMessage.Parse(message.Encode());
        Assert.Equal(RelayStatus.Ok, parsed.Status);
        Assert.Equal(1_700_000_000UL, parsed.Reservation!.Expire);
        Assert.Equal(addr, Assert.Single(parsed.Reservation.Addresses));
        Assert.Equal(new byte[] { 1, 2, 3 }, parsed.Reservation.Voucher!.Value.ToArray());
        Assert.Equal(new LimitInfo(120, 131072), parsed.Limit);
        Assert.Equal(new ConnectionLimit(TimeSpan.FromSeconds(120), 131072), parsed.Limit!.ToConnectionLimit());
    }

    [Fact]
    public void ZeroLimitsMeanUnlimitedDimensions()
    {
        Assert.Equal(new ConnectionLimit(null, null), new LimitInfo(0, 0).ToConnectionLimit());
        Assert.Equal(new ConnectionLimit(null, 5), new LimitInfo(null, 5).ToConnectionLimit());
        // js-libp2p 3.x puts milliseconds in the seconds field: parsed as sent, not refused.
        Assert.Equal(TimeSpan.FromSeconds(120_000), LimitInfo.Parse(new LimitInfo(120_000, null).Encode()).ToConnectionLimit().Duration);
        Assert.Equal(new LimitInfo(2, 10), LimitInfo.From(new ConnectionLimit(TimeSpan.FromMilliseconds(1500), 10)));
    }

    [Fact]
    public void StopConnectRoundTrips()
    {
        var message = new StopMessage(StopMessageType.Connect, new RelayPeer(Target, []), new LimitInfo(60, null));
        var parsed = StopMessage.Parse(message.Encode());
        Assert.Equal(StopMessageType.Connect, parsed.Type);
        Assert.Equal(Target, parsed.Peer!.Id);
        Assert.Equal(60u, parsed.Limit!.Duration);
        Assert.Null(parsed.Limit.Data);
        Assert.Null(parsed.Status);
    }

    [Fact]
    public void UnknownFieldsAreSkippedAndUnknownTypesKept()
    {
        // type 7 (unknown), field 15 varint, field 9 bytes
        var parsed = HopMessage.Parse(Convert.FromHexString("0807780a4a0201ff"));
        Assert.Equal((HopMessageType)7, parsed.Type);
    }

    [Fact]
    public void UndecodableAddressesAreSkippedAndCounted()
    {
        var writer = new Pinhole.Codecs.ProtobufWriter();
        writer.WriteBytes(1, Target.Multihash.Span);
        writer.WriteBytes(2, [0xff, 0xff, 0x03]);
        writer.WriteBytes(2, Multiaddr.Parse("/ip4/1.2.3.4/tcp/5").Bytes.Span);
        var peer = RelayPeer.Parse(writer.WrittenSpan);
        Assert.Single(peer.Addresses);
        Assert.Equal(1, peer.SkippedAddresses);
    }

    [Theory]
    [InlineData("", "no type")]
    [InlineData("1200", "no id")]
    [InlineData("08", "Truncated varint")]
    [InlineData("0a00", "wire type")]
    [InlineData("08ffffffff0f", "beyond int32")]
    [InlineData("0802128001", "declares")]
    [InlineData("08011200", "no id")]
    [InlineData("080112020a00", "")]
    [InlineData("0802220608ffffffff1f", "uint32")]
    [InlineData("0f", "wire type")]
    [InlineData("00", "out of range")]
    public void HostileHopMessagesGetAFormatException(string hex, string expected)
    {
        var e = Assert.Throws<FormatException>(() => HopMessage.Parse(Convert.FromHexString(hex)));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "no type")]
    [InlineData("08012080", "Truncated")]
    [InlineData("1a0108", "Truncated")]
    public void HostileStopMessagesGetAFormatException(string hex, string expected)
    {
        var e = Assert.Throws<FormatException>(() => StopMessage.Parse(Convert.FromHexString(hex)));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FramingTakesExactlyOneMessage()
    {
        var framed = DelimitedMessage.Frame([0x08, 0x00]);
        var buffer = new ReadOnlySequence<byte>([.. framed, 0x16, 0x03]);
        Assert.Equal(DelimitedMessage.ReadStatus.Done, DelimitedMessage.TryRead(buffer, out var body, out var consumed));
        Assert.Equal(new byte[] { 0x08, 0x00 }, body.ToArray());
        Assert.Equal(new byte[] { 0x16, 0x03 }, buffer.Slice(consumed).ToArray());
        Assert.Equal(DelimitedMessage.ReadStatus.NeedMoreData, DelimitedMessage.TryRead(new ReadOnlySequence<byte>([0x05, 0x08]), out _, out _));
        Assert.Equal(DelimitedMessage.ReadStatus.NeedMoreData, DelimitedMessage.TryRead(new ReadOnlySequence<byte>([0x80]), out _, out _));
        Assert.Equal(DelimitedMessage.ReadStatus.Done, DelimitedMessage.TryRead(new ReadOnlySequence<byte>([0x00]), out var empty, out _));
        Assert.True(empty.IsEmpty);
    }

    [Theory]
    [InlineData("8120", "exceeds")] // 4097
    [InlineData("808080", "Invalid")] // a 3rd prefix byte
    [InlineData("8000", "Invalid")] // not minimal
    public void FramingRefusesOversizedOrBadPrefixesBeforeBuffering(string hex, string expected)
    {
        var e = Assert.Throws<FormatException>(() => DelimitedMessage.TryRead(new ReadOnlySequence<byte>(Convert.FromHexString(hex)), out _, out _));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FramingAcceptsExactly4KiB()
    {
        var body = new byte[DelimitedMessage.MaxLength];
        var framed = DelimitedMessage.Frame(body);
        Assert.Equal(DelimitedMessage.ReadStatus.Done, DelimitedMessage.TryRead(new ReadOnlySequence<byte>(framed), out var read, out _));
        Assert.Equal(body.Length, read.Length);
        Assert.Throws<ArgumentException>(() => DelimitedMessage.Frame(new byte[DelimitedMessage.MaxLength + 1]));
    }

    [Fact]
    public async Task StreamReaderLeavesTheFollowingBytesUnread()
    {
        using var stream = new MemoryStream([.. DelimitedMessage.Frame([0x08, 0x01, 0x20, 0x64]), 0x13, 0x2f]);
        var body = await DelimitedMessage.ReadAsync(stream, "stop", CancellationToken.None);
        Assert.Equal(RelayStatus.Ok, StopMessage.Parse(body).Status);
        Assert.Equal(5, stream.Position);
        Assert.Null(await DelimitedMessage.ReadAsync(new MemoryStream(), "stop", CancellationToken.None));
    }

    [Theory]
    [InlineData("8120", "exceeds")]
    [InlineData("808080", "Invalid")]
    [InlineData("80", "inside a length prefix")]
    [InlineData("0508", "inside a 5-byte message")]
    [InlineData("8000", "Invalid")]
    public async Task StreamReaderRefusesHostileFrames(string hex, string expected)
    {
        using var stream = new MemoryStream(Convert.FromHexString(hex));
        var e = await Assert.ThrowsAsync<PeerException>(() => DelimitedMessage.ReadAsync(stream, "hop", CancellationToken.None).AsTask());
        Assert.Equal(PeerError.ProtocolViolation, e.Error);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }
}
