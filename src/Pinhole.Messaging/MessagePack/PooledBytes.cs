using System.Buffers;

namespace Pinhole.Messaging.MessagePack;

/// <summary>A received bin payload in an array rented from <see cref="ArrayPool{T}.Shared"/> (<see cref="MessageCodec.PooledMemory"/>).</summary>
internal sealed class PooledBytes : IMemoryOwner<byte>
{
    private byte[]? _array;
    private readonly int _length;

    private PooledBytes(byte[] array, int length)
    {
        _array = array;
        _length = length;
    }

    /// <summary>The payload; throws once disposed (the array may already belong to someone else).</summary>
    public Memory<byte> Memory => _array is { } array
        ? array.AsMemory(0, _length)
        : throw new ObjectDisposedException(nameof(PooledBytes));

    /// <summary>Copies <paramref name="source"/> (already bounded by the channel's message size limit) into a rented array.</summary>
    public static PooledBytes Copy(ReadOnlySequence<byte> source)
    {
        var length = checked((int)source.Length);
        var array = ArrayPool<byte>.Shared.Rent(length);
        source.CopyTo(array);
        return new PooledBytes(array, length);
    }

    /// <summary>Returns the array to the pool (once).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _array, null) is { } array)
        {
            ArrayPool<byte>.Shared.Return(array);
        }
    }
}
