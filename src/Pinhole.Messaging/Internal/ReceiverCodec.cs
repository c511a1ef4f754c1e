using System.Threading.Channels;
using Pinhole.Messaging.MessagePack;

namespace Pinhole.Messaging.Internal;

/// <summary>
/// A Receiver inside a message. Writing one opens a stream and forwards the Receiver's messages to it; the
/// peer reads back a Receiver of that stream.
/// </summary>
internal sealed class ReceiverCodec<T>(IMessageCodec<T> codec) : IMessageCodec<Receiver<T>>
{
    public void Write(ref MessagePackWriter writer, Receiver<T> value)
    {
        ArgumentNullException.ThrowIfNull(value);
        ulong id = Attach(AttachmentCodec.Context(ref writer, "Receiver"), value, codec);
        AttachmentCodec.WriteId(ref writer, AttachmentType.Receiver, id);
    }

    /// <summary>Registers <paramref name="value"/> with the message being encoded; returns the id its ext value carries.</summary>
    internal static ulong Attach(EncodeContext context, Receiver<T> value, IMessageCodec<T> codec)
    {
        var session = context.Session;
        return context.Add(stream => _ = ForwardAsync(value, new RemoteSender<T>(session, codec, stream)));
    }

    public Receiver<T> Read(ref MessagePackReader reader)
    {
        var (session, stream, _) = AttachmentCodec.Read(ref reader, AttachmentType.Receiver, AttachmentType.Receiver, "Receiver");
        return new RemoteReceiver<T>(session, codec, stream);
    }

    /// <summary>Local messages to the peer, then the local sender's close or error; stops reading if the peer stops.</summary>
    private static async Task ForwardAsync(Receiver<T> from, RemoteSender<T> to)
    {
        try
        {
            while (await from.WaitToReadAsync().ConfigureAwait(false))
            {
                while (from.TryRead(out var item))
                {
                    await to.WriteAsync(item).ConfigureAwait(false);
                }
            }
            to.TryComplete();
        }
        catch (Exception e) when (to.Closed.IsCompleted)
        {
            _ = e;
            await from.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            to.TryComplete(e is ChannelClosedException { InnerException: { } inner } ? inner : e);
        }
    }
}
