using PolyType;

namespace Pinhole.Samples.Chat;

/// <summary>One chat line. [GenerateShape] is all it takes: Nerdbank.MessagePack encodes it ({From, Text, At}).</summary>
[GenerateShape]
internal sealed partial record ChatLine(string From, string Text, DateTimeOffset At)
{
    public override string ToString() => $"[{At.ToLocalTime():HH:mm:ss}] {From}: {Text}";
}
