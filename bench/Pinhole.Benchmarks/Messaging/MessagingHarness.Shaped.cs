using PolyType;
using Pinhole.Messaging.MessagePack;

namespace Pinhole.Benchmarks.Messaging;

/// <summary>The same order as a [GenerateShape] type, encoded by Nerdbank.MessagePack (a map of three fields).</summary>
[GenerateShape]
internal sealed partial record OrderShaped(string Symbol, int Quantity, long PriceMicros);

internal static partial class MessagingHarness
{
    static partial void AddScenarios(List<Scenario> channels, List<CodecScenario> codecs)
    {
        var order = new OrderShaped("PNHL", 100, 123_456_789);
        var codec = MessageCodec.Shaped<OrderShaped>();
        channels.Add(new("3-field [GenerateShape] record (MessageCodec.Shaped)", channels[2].Messages, (peers, n) => SendAsync(peers, codec, order, n)));
        codecs.Add(new("3-field [GenerateShape] record (MessageCodec.Shaped), encode + decode", n => EncodeDecode(codec, order, n)));
    }
}
