using System.Diagnostics.CodeAnalysis;
using System.Threading.Channels;

namespace Pinhole.Messaging.Internal;

/// <summary>The receiving end of an in-process channel.</summary>
internal sealed class LocalReceiver<T>(LocalPipe<T> pipe) : Receiver<T>
{
    public override Task Completion => pipe.Channel.Reader.Completion;

    public override bool CanCount => true;

    public override int Count => pipe.Channel.Reader.Count;

    public override bool TryRead([MaybeNullWhen(false)] out T item) => pipe.Channel.Reader.TryRead(out item);

    public override bool TryPeek([MaybeNullWhen(false)] out T item) => pipe.Channel.Reader.TryPeek(out item);

    public override ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default) =>
        pipe.Channel.Reader.WaitToReadAsync(cancellationToken);

    public override ValueTask<T> ReadAsync(CancellationToken cancellationToken = default) =>
        pipe.Channel.Reader.ReadAsync(cancellationToken);

    public override ValueTask DisposeAsync()
    {
        pipe.Channel.Writer.TryComplete(new ChannelClosedException("The receiver stopped reading."));
        pipe.Drain();
        pipe.Closed.TrySetException(new ChannelClosedException("The receiver stopped reading."));
        return ValueTask.CompletedTask;
    }
}
