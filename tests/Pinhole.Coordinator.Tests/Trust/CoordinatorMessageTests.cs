using Pinhole.Membership;

namespace Pinhole.Coordinator.Tests.Trust;

public class CoordinatorMessageTests
{
    [Fact]
    public async Task MessagesRoundTripThroughFrames()
    {
        using var net = new TestNetwork();
        var message = new CoordinatorMessage(CoordinatorMessageType.Changes)
        {
            Network = net.Id,
            Cursor = 123_456,
            Records = [net.Genesis.Encoded],
            Ids = [net.Genesis.Id],
            Time = DateTimeOffset.FromUnixTimeMilliseconds(1_900_000_000_123),
            Pending = 3,
            CaughtUp = true,
            Limit = 9,
            Digest = new byte[32],
        };
        using var stream = new MemoryStream();
        await message.WriteAsync(stream);
        await CoordinatorMessage.Failure(MembershipError.Forbidden, "no").WriteAsync(stream);
        stream.Position = 0;
        var back = (await CoordinatorMessage.ReadAsync(stream))!;
        Assert.Equal(CoordinatorMessageType.Changes, back.Type);
        Assert.Equal(net.Id, back.Network);
        Assert.Equal(123_456UL, back.Cursor);
        Assert.Equal(net.Genesis.Encoded.ToArray(), back.Records[0].ToArray());
        Assert.Equal(net.Genesis.Id, back.Ids[0]);
        Assert.Equal(message.Time, back.Time);
        Assert.True(back.CaughtUp);
        Assert.Equal(3UL, back.Pending);
        var error = (await CoordinatorMessage.ReadAsync(stream))!;
        Assert.Equal(MembershipError.Forbidden, Assert.Throws<MembershipException>(() => error.Expect(CoordinatorMessageType.Ok)).Reason);
        Assert.Null(await CoordinatorMessage.ReadAsync(stream));
        Assert.Throws<PeerException>(() => back.Expect(CoordinatorMessageType.Ok));
    }

    [Fact]
    public async Task HostileFramesAreRefusedBeforeAllocating()
    {
        using var huge = new MemoryStream([0xff, 0xff, 0xff, 0xff, 0x0f]);
        Assert.Equal(PeerError.LimitExceeded, (await Assert.ThrowsAsync<PeerException>(async () => await CoordinatorMessage.ReadAsync(huge))).Error);
        using var endless = new MemoryStream([0x80, 0x80, 0x80, 0x80, 0x80, 0x80]);
        Assert.Equal(PeerError.ProtocolViolation, (await Assert.ThrowsAsync<PeerException>(async () => await CoordinatorMessage.ReadAsync(endless))).Error);
        using var cut = new MemoryStream([0x80]);
        Assert.Equal(PeerError.ProtocolViolation, (await Assert.ThrowsAsync<PeerException>(async () => await CoordinatorMessage.ReadAsync(cut))).Error);
        using var small = new MemoryStream([0x05, 0x08, 0x01]);
        await Assert.ThrowsAsync<EndOfStreamException>(async () => await CoordinatorMessage.ReadAsync(small));
        Assert.Throws<FormatException>(() => CoordinatorMessage.Decode([0x08, 0x63]));
        Assert.Throws<FormatException>(() => CoordinatorMessage.Decode([0x12, 0x01, 0x00]));
        Assert.Throws<FormatException>(() => CoordinatorMessage.Decode([0x10, 0x01]));
        Assert.Throws<FormatException>(() => CoordinatorMessage.Decode([0x08, 0x01, 0x08, 0x01]));
        Assert.Throws<FormatException>(() => CoordinatorMessage.Decode([0x08, 0x01, 0x58, 0x02]));
        Assert.Equal(MembershipError.Internal, CoordinatorMessage.Decode([0x08, 0x11, 0x38, 0x7f]).ErrorCode);
    }
}
