using Pinhole.Messaging.Internal;

namespace Pinhole.Messaging;

/// <summary>Creates in-process channels, e.g. to put one end in a message to a peer.</summary>
public static class MessageChannel
{
    /// <summary>
    /// A channel in this process holding at most <paramref name="capacity"/> unread messages. Put the
    /// <see cref="Sender{T}"/> in a message to let a peer send to you (you read the Receiver), or the
    /// <see cref="Receiver{T}"/> to let a peer read what you write.
    /// </summary>
    public static (Sender<T> Sender, Receiver<T> Receiver) CreatePipe<T>(int capacity = 16)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        var pipe = new LocalPipe<T>(capacity);
        return (new LocalSender<T>(pipe), new LocalReceiver<T>(pipe));
    }
}
