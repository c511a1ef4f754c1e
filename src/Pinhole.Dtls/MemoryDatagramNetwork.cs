using System.Collections.Concurrent;
using System.Net;

namespace Pinhole.Dtls;

/// <summary>
/// An in-process datagram network for tests: binds at made-up addresses exchange datagrams with
/// seeded loss, duplication and reordering, and the network can inject datagrams with any source address
/// (spoofing) and advertise any key for an address (to test wrong-key refusal).
/// </summary>
public sealed class MemoryDatagramNetwork
{
    private readonly ConcurrentDictionary<EndPoint, MemoryDatagramBind> _binds = new();
    private readonly ConcurrentDictionary<EndPoint, Libp2pPublicKey> _keys = new();
    private readonly Random _random;
    private readonly Lock _randomLock = new();

    /// <summary>Creates a network with <paramref name="options"/> (validated now).</summary>
    public MemoryDatagramNetwork(MemoryDatagramNetworkOptions? options = null)
    {
        Options = options ?? new MemoryDatagramNetworkOptions();
        Options.Validate();
        _random = new Random(Options.Seed);
    }

    /// <summary>The network's knobs; rates may be changed while it runs.</summary>
    public MemoryDatagramNetworkOptions Options { get; }

    /// <summary>Sees every datagram sent through the network (before the knobs), e.g. to capture and replay it.</summary>
    public Action<EndPoint, EndPoint, ReadOnlyMemory<byte>>? Observer { get; set; }

    /// <summary>Datagrams dropped by the loss knob or a full queue.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    private long _dropped;

    /// <summary>Creates a bind at <paramref name="address"/>, optionally advertising <paramref name="publicKey"/> for it.</summary>
    public MemoryDatagramBind CreateBind(EndPoint address, Libp2pPublicKey? publicKey = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        var bind = new MemoryDatagramBind(this, address, Options.QueueCapacity);
        if (!_binds.TryAdd(address, bind))
        {
            throw new InvalidOperationException($"The address {address} is already bound on this network.");
        }
        if (publicKey is not null)
        {
            _keys[address] = publicKey;
        }
        return bind;
    }

    /// <summary>Makes <see cref="IDatagramBind.ObtainPublicKeyAsync"/> return <paramref name="publicKey"/> for <paramref name="address"/>.</summary>
    public void AdvertiseKey(EndPoint address, Libp2pPublicKey publicKey) => _keys[address] = publicKey;

    /// <summary>Delivers a datagram that claims to come from <paramref name="from"/> (no knobs applied).</summary>
    public void Inject(EndPoint from, EndPoint to, ReadOnlySpan<byte> packet)
    {
        if (_binds.TryGetValue(to, out MemoryDatagramBind? target) && !target.Enqueue(from, packet.ToArray()))
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    internal Libp2pPublicKey? KeyOf(EndPoint address) => _keys.GetValueOrDefault(address);

    internal void Remove(MemoryDatagramBind bind) => _binds.TryRemove(new KeyValuePair<EndPoint, MemoryDatagramBind>(bind.LocalEndPoint, bind));

    internal void Send(EndPoint from, EndPoint to, ReadOnlySpan<byte> packet)
    {
        Observer?.Invoke(from, to, packet.ToArray());
        if (!_binds.TryGetValue(to, out MemoryDatagramBind? target))
        {
            return;
        }
        double loss, duplicate, reorder, delayFraction;
        lock (_randomLock)
        {
            loss = _random.NextDouble();
            duplicate = _random.NextDouble();
            reorder = _random.NextDouble();
            delayFraction = _random.NextDouble();
        }
        if (loss < Options.LossRate)
        {
            Interlocked.Increment(ref _dropped);
            return;
        }
        int copies = duplicate < Options.DuplicateRate ? 2 : 1;
        byte[] data = packet.ToArray();
        for (int i = 0; i < copies; i++)
        {
            if (reorder < Options.ReorderRate)
            {
                TimeSpan delay = Options.MaxReorderDelay * delayFraction;
                ITimer? timer = null;
                timer = Options.TimeProvider.CreateTimer(
                    _ =>
                    {
                        Deliver(target, from, data);
                        timer?.Dispose();
                    },
                    null,
                    delay,
                    Timeout.InfiniteTimeSpan);
            }
            else
            {
                Deliver(target, from, data);
            }
        }
    }

    private void Deliver(MemoryDatagramBind target, EndPoint from, byte[] data)
    {
        if (!target.Enqueue(from, data))
        {
            Interlocked.Increment(ref _dropped);
        }
    }
}
