using System.Threading.Channels;

namespace Pinhole.Node;

/// <summary>
/// The node's event bus. Each subscriber has its own bounded queue; a subscriber that falls behind loses
/// its oldest events (counted in <see cref="NodeEventSubscription.Dropped"/>), never slows the node down.
/// </summary>
public sealed class NodeEvents
{
    private readonly Lock _lock = new();
    private NodeEventSubscription[] _subscribers = [];

    /// <summary>Starts receiving events published from now on.</summary>
    public NodeEventSubscription Subscribe(int capacity = 1024)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        var subscription = new NodeEventSubscription(this, capacity);
        lock (_lock)
        {
            _subscribers = [.. _subscribers, subscription];
        }
        return subscription;
    }

    /// <summary>Subscribers right now.</summary>
    public int SubscriberCount => Volatile.Read(ref _subscribers).Length;

    internal void Publish(NodeEvent e)
    {
        foreach (var subscriber in Volatile.Read(ref _subscribers))
        {
            subscriber.Offer(e);
        }
    }

    internal void Remove(NodeEventSubscription subscription)
    {
        lock (_lock)
        {
            _subscribers = [.. _subscribers.Where(s => s != subscription)];
        }
    }

    internal void CompleteAll()
    {
        foreach (var subscriber in Volatile.Read(ref _subscribers))
        {
            subscriber.Complete();
        }
    }
}

/// <summary>One subscriber's queue of node events; dispose to unsubscribe.</summary>
public sealed class NodeEventSubscription : IDisposable
{
    private readonly NodeEvents _owner;
    private readonly Channel<NodeEvent> _queue;
    private long _dropped;

    internal NodeEventSubscription(NodeEvents owner, int capacity)
    {
        _owner = owner;
        _queue = Channel.CreateBounded<NodeEvent>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        }, _ => Interlocked.Increment(ref _dropped));
    }

    /// <summary>The events, in order; completes when the node stops or the subscription is disposed.</summary>
    public ChannelReader<NodeEvent> Reader => _queue.Reader;

    /// <summary>Events dropped because this subscriber fell behind.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    internal void Offer(NodeEvent e) => _queue.Writer.TryWrite(e);

    internal void Complete() => _queue.Writer.TryComplete();

    /// <summary>Unsubscribes.</summary>
    public void Dispose()
    {
        _owner.Remove(this);
        _queue.Writer.TryComplete();
    }
}
