using Nerdbank.MessagePack;

namespace Pinhole.Messaging.Internal.Shaped;

/// <summary>A prepared starting context, boxed so it is published by one reference write (a struct could tear).</summary>
internal sealed class ShapedContext(SerializationContext value)
{
    public SerializationContext Value { get; } = value;
}
