using System.Buffers;
using Pinhole.Messaging.MessagePack;

namespace Pinhole.Messaging.Internal;

/// <summary>
/// The requester's end of a reply stream: reads the one reply of <see cref="RequestReply.RequestAsync{TRequest, TResponse}"/>
/// straight from the stream, on the requester's own task.
/// <code>
/// PeerStream --ReadAsync--> pooled buffer --ChannelFrame.TryRead--> decode --> RequestAsync's result
/// </code>
/// A full <see cref="RemoteReceiver{T}"/> would run a pump task, a <c>PipeReader</c> with a 64 KiB buffer and a
/// bounded queue for a channel that carries one message: one thread hop and those allocations per request.
/// The frames on the wire are the same as on any channel, so the responder cannot tell the difference.
/// </summary>
/// <remarks>
/// Failures are those of a channel: an Error frame is a <see cref="ChannelAbortedException"/> with the
/// responder's reason, the stream's end before a reply is a <see cref="ChannelAbortedException"/>, a malformed
/// or oversized frame a <see cref="PeerException"/> (<see cref="PeerError.ProtocolViolation"/> /
/// <see cref="PeerError.LimitExceeded"/>) that resets the stream, and a lost stream or connection the
/// stream's <see cref="PeerException"/>. A requester that gives up (cancellation, a failure) sends a Stop frame,
/// as a disposed receiver does, so that the responder's reply Sender fails instead of writing into the void.
/// </remarks>
internal sealed class ReplyReader<T>(MessageSession session, IMessageCodec<T> codec, Task<PeerStream> streamTask)
{
    private const int InitialBufferSize = 512;

    /// <summary>Reads the reply; the stream is disposed before this returns or throws (an answered stream
    /// half-closes and its remaining bytes are discarded until the responder's end).</summary>
    public async Task<T> ReadAsync(CancellationToken cancellationToken)
    {
        var stream = await streamTask.ConfigureAwait(false);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(InitialBufferSize);
        int filled = 0;
        bool answered = false;
        try
        {
            while (true)
            {
                var sequence = new ReadOnlySequence<byte>(buffer, 0, filled);
                if (ChannelFrame.TryRead(ref sequence, session.Options.MaxMessageSize, out var type, out var body))
                {
                    switch (type)
                    {
                        case ChannelFrameType.Message:
                            var reply = MessageCodec.Deserialize(codec, body, session.ReaderOptions, session);
                            answered = true;
                            return reply;
                        case ChannelFrameType.Error:
                            string reason = MessageCodec.Deserialize(MessageCodec.String, body) ?? "The sender closed the channel with an error.";
                            answered = true; // the responder closed the channel: nothing to stop
                            throw new ChannelAbortedException(reason) { IsRemote = true };
                        default:
                            throw new PeerException(PeerError.ProtocolViolation, $"Unexpected {type} frame from a sender.");
                    }
                }
                if (filled == buffer.Length)
                {
                    // ChannelFrame.TryRead has checked the announced length against MaxMessageSize.
                    var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, filled).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
                int read = await stream.ReadAsync(buffer.AsMemory(filled), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    answered = true; // the responder closed the channel: nothing to stop
                    if (filled != 0)
                    {
                        throw new PeerException(PeerError.ProtocolViolation, "The channel stream ended inside a frame.");
                    }
                    throw new ChannelAbortedException("The responder closed the reply channel without replying.");
                }
                filled += read;
            }
        }
        catch (Exception e) when (e is MessagePackException or PeerException { Error: PeerError.ProtocolViolation or PeerError.LimitExceeded })
        {
            answered = true; // reset below: no Stop frame
            stream.Abort();
            MessagingLog.ChannelProtocolViolation(session.Logger, session.RemotePeer, e.Message);
            if (e is MessagePackException)
            {
                throw new PeerException(PeerError.ProtocolViolation, $"Malformed message on a channel from {session.RemotePeer}: {e.Message}", e);
            }
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            if (!answered)
            {
                await StopAsync(stream).ConfigureAwait(false);
            }
            await stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Disposes the stream of a reply that is no longer read (the request was not sent, or another path answered it).</summary>
    public async ValueTask AbandonAsync()
    {
        if (!streamTask.IsCompletedSuccessfully)
        {
            return;
        }
        var stream = streamTask.Result;
        await StopAsync(stream).ConfigureAwait(false);
        await stream.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Tells the responder that nobody reads the reply (best effort, as a disposed <see cref="RemoteReceiver{T}"/> does).</summary>
    private static async ValueTask StopAsync(PeerStream stream)
    {
        if (stream.WritesClosed.IsCompleted)
        {
            return;
        }
        try
        {
            var body = MessageCodec.Serialize(MessageCodec.String, "disposed");
            var frame = new byte[ChannelFrame.MaxPrefixLength + 1 + body.Length];
            int header = ChannelFrame.WriteHeader(frame, ChannelFrameType.Stop, body.Length);
            body.CopyTo(frame.AsSpan(header));
            await stream.WriteAsync(frame.AsMemory(0, header + body.Length)).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Best effort: the stream may already be closed or reset; disposing ends it either way.
        }
    }
}
