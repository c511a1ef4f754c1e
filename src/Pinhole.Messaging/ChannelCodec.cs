using Pinhole.Messaging.Internal;
using Pinhole.Messaging.MessagePack;

namespace Pinhole.Messaging;

/// <summary>
/// Codecs for channels and byte streams inside messages. Each becomes its own stream on the connection;
/// in the message it is a MessagePack ext value (see docs/messaging.md for the type numbers). They work
/// only in messages sent or received through a <see cref="MessageSession"/>.
/// </summary>
public static class ChannelCodec
{
    /// <summary>A <see cref="Sender{T}"/> in a message: the receiving peer gets a Sender that delivers to it.</summary>
    public static IMessageCodec<Sender<T>> Sender<T>(IMessageCodec<T> codec)
    {
        ArgumentNullException.ThrowIfNull(codec);
        return new SenderCodec<T>(codec);
    }

    /// <summary>A <see cref="Receiver{T}"/> in a message: the receiving peer gets a Receiver of its messages.</summary>
    public static IMessageCodec<Receiver<T>> Receiver<T>(IMessageCodec<T> codec)
    {
        ArgumentNullException.ThrowIfNull(codec);
        return new ReceiverCodec<T>(codec);
    }

    /// <summary>
    /// A <see cref="Stream"/> in a message: readable streams are copied to the peer, writable ones receive what
    /// the peer writes; the peer gets a Stream with the opposite abilities.
    /// </summary>
    public static IMessageCodec<Stream> Stream => StreamCodec.Instance;
}
