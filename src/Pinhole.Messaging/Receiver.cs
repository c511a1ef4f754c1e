using System.Threading.Channels;
using Nerdbank.MessagePack;
using PolyType;
using Pinhole.Messaging.Shapes;

namespace Pinhole.Messaging;

/// <summary>
/// The receiving end of a typed, ordered message channel: a <see cref="ChannelReader{T}"/> and an
/// <see cref="IAsyncEnumerable{T}"/>. A Receiver can itself be placed inside a message: the peer that
/// receives the message gets a Receiver of this channel's messages.
/// </summary>
/// <remarks>
/// <see cref="ChannelReader{T}.Completion"/> completes when the sender closed gracefully and every message has
/// been read, or faults with the sender's error (<see cref="ChannelAbortedException"/>), an abort, or the loss
/// of the connection (<see cref="PeerException"/>). Disposing tells the sender to stop: its writes then fail.
/// Only a bounded number of messages is buffered; a slow reader slows the sender.
/// </remarks>
/// <typeparam name="T">The type of messages.</typeparam>
// In a [GenerateShape] type a Receiver is an attachment (ext 5), not an enumerable: see Sender<T>.
[TypeShape(Kind = TypeShapeKind.None)]
[MessagePackConverter(typeof(ReceiverConverter<>))]
[AssociatedTypeShape(typeof(ShapedElement<>))]
public abstract class Receiver<T> : ChannelReader<T>, IAsyncEnumerable<T>, IAsyncDisposable
{
    /// <summary>Stops receiving: buffered messages are dropped and the sender learns that nobody reads.</summary>
    public abstract ValueTask DisposeAsync();

    /// <inheritdoc/>
    public IAsyncEnumerator<T> GetAsyncEnumerator(CancellationToken cancellationToken = default) =>
        ReadAllAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);
}
