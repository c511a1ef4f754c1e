using Pinhole.Vpn.DataPlane;

namespace Pinhole.Vpn.Tests;

/// <summary>The /pinhole/vpn-relay/1.0.0 framing: round trip, partial input, and hostile headers refused before the body.</summary>
public class RelayFrameTests
{
    private static byte[] Frame(params byte[] datagram)
    {
        byte[] frame = new byte[RelayFrame.HeaderLength + datagram.Length];
        Assert.Equal(frame.Length, RelayFrame.Write(frame, datagram));
        return frame;
    }

    [Fact]
    public void RoundTrip_AndConcatenatedFrames()
    {
        byte[] one = Frame(WireFormat.Data, 1, 2, 3);
        Assert.Equal([0, 4, 0x06, 1, 2, 3], one);
        Assert.Equal(RelayFrame.Status.Frame, RelayFrame.TryRead(one, out int length, out string? error));
        Assert.Equal(4, length);
        Assert.Null(error);
        byte[] two = [.. one, .. Frame(WireFormat.HandshakeToListener, 9), .. Frame(WireFormat.HandshakeToDialer)];
        Assert.Equal((3, (string?)null), RelayFrame.ReadAll(two));
    }

    [Fact]
    public void PartialInputNeedsMore()
    {
        byte[] frame = Frame(WireFormat.Data, 1, 2, 3);
        for (int cut = 0; cut < frame.Length; cut++)
        {
            Assert.Equal(RelayFrame.Status.NeedMore, RelayFrame.TryRead(frame.AsSpan(0, cut), out _, out string? error));
            Assert.Null(error);
        }
    }

    [Theory]
    [InlineData(new byte[] { 0, 0 }, "empty frame")]
    [InlineData(new byte[] { 0xFF, 0xFF }, "exceeds 65507")]
    [InlineData(new byte[] { 0xFF, 0xE4 }, "exceeds 65507")] // 65508
    [InlineData(new byte[] { 0x10, 0x00, 0x00 }, "type 0x00")] // STUN never crosses the relay
    [InlineData(new byte[] { 0x10, 0x00, 0x03 }, "type 0x03")]
    [InlineData(new byte[] { 0x10, 0x00, 0x07 }, "type 0x07")]
    [InlineData(new byte[] { 0x10, 0x00, 0x17 }, "type 0x17")]
    public void HostileHeadersAreRefusedBeforeTheBody(byte[] header, string reason)
    {
        // The declared body never arrived: the verdict comes from the header alone, so nothing waits for (or buffers) it.
        Assert.Equal(RelayFrame.Status.Invalid, RelayFrame.TryRead(header, out _, out string? error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
        Assert.Equal((1, error), RelayFrame.ReadAll([.. Frame(WireFormat.Data), .. header]));
    }

    [Fact]
    public void LargestDatagramPasses_AndWriteRefusesWhatCannotBeFramed()
    {
        byte[] datagram = new byte[RelayFrame.MaxDatagram];
        datagram[0] = WireFormat.Data;
        Assert.Equal(RelayFrame.Status.Frame, RelayFrame.TryRead(Frame(datagram), out int length, out _));
        Assert.Equal(RelayFrame.MaxDatagram, length);
        byte[] big = new byte[RelayFrame.HeaderLength + RelayFrame.MaxDatagram + 1];
        Assert.Throws<ArgumentOutOfRangeException>(() => RelayFrame.Write(big, new byte[RelayFrame.MaxDatagram + 1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => RelayFrame.Write(big, []));
    }
}
