using System.Threading.Channels;
using Nerdbank.MessagePack;
using PolyType;
using Pinhole.Messaging.Shapes;

namespace Pinhole.Messaging;

/// <summary>
/// The sending end of a typed, ordered message channel: a <see cref="ChannelWriter{T}"/> whose other end may
/// be in this process (<see cref="MessageChannel.CreatePipe{T}"/>) or on a peer (<see cref="MessageSession"/>).
/// A Sender can itself be placed inside a message: the peer that receives the message gets a Sender that
/// delivers to this channel's Receiver.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Messages arrive in the order they were written.</item>
/// <item><see cref="ChannelWriter{T}.TryComplete"/> with no error closes gracefully: messages already written
/// are delivered, then the receiver's reads end. With an error, the messages are delivered and then the
/// receiver's reads fail with that error's message (<see cref="ChannelAbortedException"/> on a peer).</item>
/// <item><see cref="Abort"/> resets at once: undelivered messages are dropped and the receiver fails.</item>
/// <item>Writes wait while the receiver is behind (end-to-end back-pressure).</item>
/// <item><see cref="Closed"/> completes when the receiver has stopped, the channel was aborted or the
/// connection was lost; writes then fail with the reason.</item>
/// </list>
/// </remarks>
/// <typeparam name="T">The type of messages.</typeparam>
// In a [GenerateShape] type a Sender is an attachment (ext 4), not an object with properties: the converter
// encodes it, and the associated shape gives the converter a shape for T.
[TypeShape(Kind = TypeShapeKind.None)]
[MessagePackConverter(typeof(SenderConverter<>))]
[AssociatedTypeShape(typeof(ShapedElement<>))]
public abstract class Sender<T> : ChannelWriter<T>, IAsyncDisposable
{
    /// <summary>Completes (faulted with the reason, if any) when nothing more can be delivered.</summary>
    public abstract Task Closed { get; }

    /// <summary>
    /// Waits until every message written so far has been handed to the transport (for a peer) or to the
    /// receiving buffer (in process). It does not wait for the peer to read them.
    /// </summary>
    public abstract ValueTask FlushAsync(CancellationToken cancellationToken = default);

    /// <summary>Closes at once, dropping what is not yet delivered; the receiver fails with <see cref="ChannelAbortedException"/>.</summary>
    public abstract void Abort(string? reason = null);

    /// <summary>Completes gracefully (if not already) and waits until what was written has been handed on.</summary>
    public virtual async ValueTask DisposeAsync()
    {
        TryComplete();
        try
        {
            await FlushAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ChannelClosedException or OperationCanceledException or ObjectDisposedException)
        {
            // Disposal does not report delivery failures; Closed does.
        }
        GC.SuppressFinalize(this);
    }
}
