using System.Threading.Channels;
using Pinhole.Messaging.MessagePack;

namespace Pinhole.Messaging.Internal;

/// <summary>
/// A Sender inside a message. Writing one opens a stream whose incoming messages are forwarded into the
/// Sender; the peer reads back a Sender that writes to that stream.
/// </summary>
internal sealed class SenderCodec<T>(IMessageCodec<T> codec) : IMessageCodec<Sender<T>>
{
    public void Write(ref MessagePackWriter writer, Sender<T> value)
    {
        ArgumentNullException.ThrowIfNull(value);
        ulong id = Attach(AttachmentCodec.Context(ref writer, "Sender"), value, codec);
        AttachmentCodec.WriteId(ref writer, AttachmentType.Sender, id);
    }

    public Sender<T> Read(ref MessagePackReader reader)
    {
        var (session, stream, _) = AttachmentCodec.Read(ref reader, AttachmentType.Sender, AttachmentType.Sender, "Sender");
        return new RemoteSender<T>(session, codec, stream);
    }

    /// <summary>Registers <paramref name="value"/> with the message being encoded; returns the id its ext value carries.</summary>
    internal static ulong Attach(EncodeContext context, Sender<T> value, IMessageCodec<T> codec)
    {
        var session = context.Session;
        if (value is ReplySender<T> reply && reply.TryClaimRemote())
        {
            // RequestAsync reads the reply stream itself: no forwarding task, no receiver pump, no queue.
            return context.Add(stream => reply.SetRemote(new ReplyReader<T>(session, codec, stream)));
        }
        return context.Add(stream => _ = ForwardAsync(new RemoteReceiver<T>(session, codec, stream), value));
    }

    /// <summary>Peer's messages into the local Sender, with its close or error; stops the peer if the Sender closes.</summary>
    private static async Task ForwardAsync(RemoteReceiver<T> from, Sender<T> to)
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
        catch (ChannelClosedException) when (to.Closed.IsCompleted)
        {
            await from.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            to.TryComplete(e);
            await from.DisposeAsync().ConfigureAwait(false);
        }
    }
}
