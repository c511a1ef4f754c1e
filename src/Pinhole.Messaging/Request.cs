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
    /// <exception cref="ChannelAbortedException">The responder failed the request.</exception>
    /// <exception cref="PeerException">The reply channel or the connection was lost.</exception>
    public static async Task<TResponse> RequestAsync<TRequest, TResponse>(this Sender<Request<TRequest, TResponse>> sender, TRequest body, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sender);
        var (replySender, replies) = MessageChannel.CreatePipe<TResponse>(1);
        await using (((IAsyncDisposable)replies).ConfigureAwait(false))
        {
            await sender.WriteAsync(new Request<TRequest, TResponse>(body, replySender), cancellationToken).ConfigureAwait(false);
            if (await replies.WaitToReadAsync(cancellationToken).ConfigureAwait(false) && replies.TryRead(out var response))
            {
                return response;
            }
            throw new ChannelAbortedException("The responder closed the reply channel without replying.");
        }
    }
}
