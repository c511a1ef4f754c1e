using Pinhole.Nat.Relay.Protocol;

namespace Pinhole.Nat.Tests.Support;

/// <summary>Sends raw hop/stop bytes, as a misbehaving or foreign peer would, and reads the answer.</summary>
internal static class RawHop
{
    public static async Task<HopMessage> ExchangeAsync(Stream stream, byte[] body)
    {
        await DelimitedMessage.WriteAsync(stream, body, TestPeer.Bounded());
        var answer = await DelimitedMessage.ReadAsync(stream, "hop", TestPeer.Bounded());
        return HopMessage.Parse(answer ?? throw new EndOfStreamException("no answer"));
    }

    public static async Task<HopMessage> RawExchangeAsync(Stream stream, byte[] bytes)
    {
        await stream.WriteAsync(bytes, TestPeer.Bounded());
        var answer = await DelimitedMessage.ReadAsync(stream, "hop", TestPeer.Bounded());
        return HopMessage.Parse(answer ?? throw new EndOfStreamException("no answer"));
    }

    public static async Task<StopMessage> StopExchangeAsync(Stream stream, byte[] bytes)
    {
        await stream.WriteAsync(bytes, TestPeer.Bounded());
        var answer = await DelimitedMessage.ReadAsync(stream, "stop", TestPeer.Bounded());
        return StopMessage.Parse(answer ?? throw new EndOfStreamException("no answer"));
    }
}
