namespace Pinhole.Messaging.Internal;

/// <summary>
/// The reply Sender that <see cref="RequestReply.RequestAsync{TRequest, TResponse}"/> puts in a request. For a
/// responder in this process it is an in-process pipe. When the request is encoded for a peer, the reply
/// stream is handed straight to the requester (<see cref="Remote"/>), which reads the one reply from it with a
/// <see cref="ReplyReader{T}"/>: no forwarding task, no receiver pump, no queue. Only the first encoding is
/// short-cut; any other goes through the pipe as for every Sender.
/// </summary>
internal sealed class ReplySender<T> : Sender<T>
{
    private readonly Sender<T> _local;
    private readonly TaskCompletionSource<ReplyReader<T>> _remote = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _claimed;

    public ReplySender()
    {
        (_local, LocalReceiver) = MessageChannel.CreatePipe<T>(1);
    }

    /// <summary>Replies written in this process.</summary>
    public Receiver<T> LocalReceiver { get; }

    /// <summary>The reader of the reply stream, once the request was encoded for a peer and the stream opened.</summary>
    public Task<ReplyReader<T>> Remote => _remote.Task;

    /// <summary>True for the first encoding for a peer, whose reply stream then goes to <see cref="Remote"/>.</summary>
    public bool TryClaimRemote() => Interlocked.Exchange(ref _claimed, 1) == 0;

    public void SetRemote(ReplyReader<T> reader) => _remote.TrySetResult(reader);

    public override Task Closed => _local.Closed;

    public override bool TryWrite(T item) => _local.TryWrite(item);

    public override ValueTask<bool> WaitToWriteAsync(CancellationToken cancellationToken = default) => _local.WaitToWriteAsync(cancellationToken);

    public override ValueTask WriteAsync(T item, CancellationToken cancellationToken = default) => _local.WriteAsync(item, cancellationToken);

    public override bool TryComplete(Exception? error = null) => _local.TryComplete(error);

    public override ValueTask FlushAsync(CancellationToken cancellationToken = default) => _local.FlushAsync(cancellationToken);

    public override void Abort(string? reason = null) => _local.Abort(reason);
}
