using System.ComponentModel;

namespace Pinhole.Messaging.Shapes;

/// <summary>
/// Plumbing for source-generated shapes (not for direct use): <see cref="Sender{T}"/> and <see cref="Receiver{T}"/>
/// name this type as an associated shape, so PolyType generates a shape for <typeparamref name="T"/> wherever a
/// channel of <typeparamref name="T"/> appears in a <c>[GenerateShape]</c> type, and the channel's converter can
/// encode its messages.
/// </summary>
/// <typeparam name="T">The channel's message type.</typeparam>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class ShapedElement<T>
{
    /// <summary>A value of the element type (never used at run time).</summary>
    public T? Value { get; set; }
}
