using Pinhole.Messaging.Internal;
using Pinhole.Messaging.MessagePack;

namespace Pinhole.Messaging;

/// <summary>A request that carries the Sender its reply goes to (see <see cref="RequestReply"/>).</summary>
/// <param name="Body">The request.</param>
/// <param name="Reply">Where the reply goes; on a peer it is a nested channel back to the requester.</param>
public sealed record Request<TRequest, TResponse>(TRequest Body, Sender<TResponse> Reply)
{
    /// <summary>Sends the reply and closes the reply channel.</summary>
    /// <remarks>When the reply goes to a peer, the reply frame and the stream's end leave together (one write on
    /// this task, no hand-off to the channel's pump).</remarks>
    public async ValueTask ReplyAsync(TResponse response, CancellationToken cancellationToken = default)
    {
        if (Reply is RemoteSender<TResponse> remote)
        {
            await remote.WriteAndCompleteAsync(response, cancellationToken).ConfigureAwait(false);
            return;
        }
        await Reply.WriteAsync(response, cancellationToken).ConfigureAwait(false);
        Reply.TryComplete();
        await Reply.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Fails the request: the requester's <see cref="RequestReply.RequestAsync{TRequest, TResponse}"/> throws with <paramref name="reason"/>.</summary>
    public void Fail(string reason) => Reply.TryComplete(new ChannelAbortedException(reason));
}

/// <summary>Request/reply over channels: each request carries a fresh reply channel (libchan's pattern).</summary>
public static class RequestReply
{
    /// <summary>The codec of requests: <c>[body, ext 4 (reply Sender)]</c>.</summary>
    public static IMessageCodec<Request<TRequest, TResponse>> Codec<TRequest, TResponse>(IMessageCodec<TRequest> request, IMessageCodec<TResponse> response) =>
        MessageCodec.Record(
            (Request<TRequest, TResponse> r) => r.Body,
            r => r.Reply,
            (body, reply) => new Request<TRequest, TResponse>(body, reply),
            request,
            ChannelCodec.Sender(response));

    /// <summary>Sends <paramref name="body"/> with a reply channel and waits for the one reply.</summary>
    /// <remarks>When the request goes to a peer, the reply is read straight from the reply channel's stream
    /// (one read on this task: no receiver pump, no queue); the stream is closed once the reply is read.</remarks>
    /// <exception cref="ChannelAbortedException">The responder failed the request, or closed the reply channel without replying.</exception>
    /// <exception cref="PeerException">The reply channel or the connection was lost, or the reply was malformed.</exception>
    public static async Task<TResponse> RequestAsync<TRequest, TResponse>(this Sender<Request<TRequest, TResponse>> sender, TRequest body, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sender);
        var reply = new ReplySender<TResponse>();
        var remoteRead = false;
        try
        {
            await sender.WriteAsync(new Request<TRequest, TResponse>(body, reply), cancellationToken).ConfigureAwait(false);
            if (!reply.Remote.IsCompleted)
            {
                // A local responder writes the pipe; a request forwarded to a peer later still sets Remote.
                var local = reply.LocalReceiver.WaitToReadAsync(cancellationToken).AsTask();
                await Task.WhenAny(local, reply.Remote).ConfigureAwait(false);
                // Whichever lost is left behind; observe its fault (the pipe's wait fails once it is disposed).
                _ = local.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
            if (reply.Remote.IsCompletedSuccessfully)
            {
                remoteRead = true;
                return await reply.Remote.Result.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            var replies = reply.LocalReceiver;
            if (await replies.WaitToReadAsync(cancellationToken).ConfigureAwait(false) && replies.TryRead(out var response))
            {
                return response;
            }
            throw new ChannelAbortedException("The responder closed the reply channel without replying.");
        }
        finally
        {
            await reply.LocalReceiver.DisposeAsync().ConfigureAwait(false);
            if (!remoteRead)
            {
                // A reply stream that was opened (now or by a later forwarder) but will not be read: stop and close it.
                _ = reply.Remote.ContinueWith(static t => t.Result.AbandonAsync().AsTask(), CancellationToken.None,
                    TaskContinuationOptions.OnlyOnRanToCompletion | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
    }
}
