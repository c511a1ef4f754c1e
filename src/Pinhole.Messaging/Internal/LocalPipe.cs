using System.Threading.Channels;

namespace Pinhole.Messaging.Internal;

/// <summary>The shared state of an in-process channel: a bounded Channel and the "closed" signal.</summary>
internal sealed class LocalPipe<T>(int capacity)
{
    public Channel<T> Channel { get; } = System.Threading.Channels.Channel.CreateBounded<T>(new BoundedChannelOptions(capacity)
    {
        FullMode = BoundedChannelFullMode.Wait,
    });

    public TaskCompletionSource Closed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Drain()
    {
        while (Channel.Reader.TryRead(out _))
        {
        }
    }
}
