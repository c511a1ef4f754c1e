namespace Pinhole.Messaging.Internal;

/// <summary>The sending end of an in-process channel.</summary>
internal sealed class LocalSender<T>(LocalPipe<T> pipe) : Sender<T>
{
    public override Task Closed => pipe.Closed.Task;

    public override bool TryWrite(T item) => pipe.Channel.Writer.TryWrite(item);

    public override ValueTask<bool> WaitToWriteAsync(CancellationToken cancellationToken = default) =>
        pipe.Channel.Writer.WaitToWriteAsync(cancellationToken);

    public override ValueTask WriteAsync(T item, CancellationToken cancellationToken = default) =>
        pipe.Channel.Writer.WriteAsync(item, cancellationToken);

    public override bool TryComplete(Exception? error = null)
    {
        if (!pipe.Channel.Writer.TryComplete(error))
        {
            return false;
        }
        pipe.Closed.TrySetResult();
        return true;
    }

    public override ValueTask FlushAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    public override void Abort(string? reason = null)
    {
        TryComplete(new ChannelAbortedException(reason ?? "The sender aborted the channel."));
        pipe.Drain();
    }
}
