using System.Security.Cryptography;

namespace Pinhole.Messaging.Tests.Support;

/// <summary>A read-only stream of <c>length</c> deterministic pseudo-random bytes (cheap: xorshift), for integrity checks.</summary>
internal sealed class PatternStream(long length, int seed) : Stream
{
    private ulong _state = (ulong)seed * 0x9E3779B97F4A7C15UL | 1;
    private long _position;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => length;
    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public static byte[] Sha256(long length, int seed)
    {
        using var stream = new PatternStream(length, seed);
        return SHA256.HashData(stream);
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n = (int)Math.Min(buffer.Length & ~7, length - _position);
        if (n <= 0 && _position < length)
        {
            n = (int)Math.Min(buffer.Length, length - _position);
        }
        for (int i = 0; i < n; i++)
        {
            if ((i & 7) == 0)
            {
                _state ^= _state << 13;
                _state ^= _state >> 7;
                _state ^= _state << 17;
            }
            buffer[i] = (byte)(_state >> ((i & 7) * 8));
        }
        _position += n;
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => Task.FromResult(Read(buffer, offset, count));

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
