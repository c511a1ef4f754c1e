using Pinhole.Messaging.Internal;
using Pinhole.Messaging.MessagePack;

namespace Pinhole.Messaging;

/// <summary>A request that carries the Sender its reply goes to (see <see cref="RequestReply"/>).</summary>
/// <param name="Body">The request.</param>
/// <param name="Reply">Where the reply goes; on a peer it is a nested channel back to the requester.</param>
public sealed record Request<TRequest, TResponse>(TRequest Body, Sender<TResponse> Reply)
{
    /// <summary>Sends the reply and closes the reply channel.</summary>
    public async ValueTask ReplyAsync(TResponse response, CancellationToken cancellationToken = default)
    {
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
    /// <remarks>When the request goes to a peer, the reply is read straight from the reply channel's stream.</remarks>
    /// <exception cref="ChannelAbortedException">The responder failed the request.</exception>
    /// <exception cref="PeerException">The reply channel or the connection was lost.</exception>
    public static async Task<TResponse> RequestAsync<TRequest, TResponse>(this Sender<Request<TRequest, TResponse>> sender, TRequest body, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sender);
        var reply = new ReplySender<TResponse>();
        Receiver<TResponse>? remote = null;
        var answered = false;
        try
        {
            await sender.WriteAsync(new Request<TRequest, TResponse>(body, reply), cancellationToken).ConfigureAwait(false);
            var replies = reply.LocalReceiver;
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
                replies = remote = reply.Remote.Result;
            }
            if (await replies.WaitToReadAsync(cancellationToken).ConfigureAwait(false) && replies.TryRead(out var response))
            {
                answered = true;
                return response;
            }
            throw new ChannelAbortedException("The responder closed the reply channel without replying.");
        }
        finally
        {
            await reply.LocalReceiver.DisposeAsync().ConfigureAwait(false);
            if (remote is not null)
            {
                if (answered)
                {
                    // Let the responder finish its reply channel (its close follows the reply) before the stream goes.
                    _ = DisposeWhenCompleteAsync(remote);
                }
                else
                {
                    await remote.DisposeAsync().ConfigureAwait(false);
                }
            }
        }
    }

    private static async Task DisposeWhenCompleteAsync<T>(Receiver<T> receiver)
    {
        try
        {
            await receiver.Completion.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The reply was delivered; how the channel ended after it does not concern the requester.
        }
        await receiver.DisposeAsync().ConfigureAwait(false);
    }
}
