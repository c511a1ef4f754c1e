using Pinhole.Messaging.MessagePack;

namespace Pinhole.Samples.Chat;

/// <summary>One chat line; on the wire a MessagePack array [from, text, at].</summary>
internal sealed record ChatLine(string From, string Text, DateTimeOffset At)
{
    public static readonly IMessageCodec<ChatLine> Codec = MessageCodec.Record(
        (ChatLine l) => l.From, l => l.Text, l => l.At,
        (from, text, at) => new ChatLine(from, text, at));

    public override string ToString() => $"[{At.ToLocalTime():HH:mm:ss}] {From}: {Text}";
}
