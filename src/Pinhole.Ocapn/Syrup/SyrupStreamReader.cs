using System.Buffers;

namespace Pinhole.Ocapn.Syrup;

/// <summary>
/// Reads consecutive Syrup values from a stream (as CapTP does over a netlayer connection). The buffer grows
/// only to the size the parser has proved it needs, and never past <see cref="SyrupReaderOptions.MaxTotalBytes"/>.
/// </summary>
/// <remarks>An incomplete value is re-parsed from its start when more bytes arrive; the parser's "bytes needed"
/// hint skips re-parsing while a long byte string is still arriving.</remarks>
public sealed class SyrupStreamReader : IDisposable
{
    private const int MinRead = 4096;
    private readonly Stream _stream;
    private readonly SyrupReaderOptions _options;
    private readonly bool _leaveOpen;
    private byte[] _buffer;
    private int _start;
    private int _end;
    private bool _disposed;

    /// <summary>Creates a reader over <paramref name="stream"/>.</summary>
    public SyrupStreamReader(Stream stream, SyrupReaderOptions? options = null, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _stream = stream;
        _options = options ?? SyrupReaderOptions.Default;
        _options.Validate();
        _leaveOpen = leaveOpen;
        _buffer = ArrayPool<byte>.Shared.Rent(MinRead);
    }

    /// <summary>
    /// Reads the next value; null when the stream ends cleanly between values.
    /// </summary>
    /// <exception cref="SyrupFormatException">Malformed input, a broken limit, or the stream ended inside a value.</exception>
    public async ValueTask<SyrupValue?> ReadAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var needed = 1;
        while (true)
        {
            if (_end - _start >= needed)
            {
                var status = SyrupReader.TryRead(_buffer.AsSpan(_start, _end - _start), out var value, out var consumed, out var more, _options);
                if (status == SyrupReadStatus.Complete)
                {
                    _start += consumed;
                    return value;
                }
                needed = more;
            }
            EnsureRoom(needed);
            var read = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                if (_end == _start)
                {
                    return null;
                }
                throw new SyrupFormatException($"The stream ended inside a Syrup value ({_end - _start} bytes read, at least {needed} needed)", _end - _start);
            }
            _end += read;
        }
    }

    private void EnsureRoom(int needed)
    {
        var have = _end - _start;
        // Room for the bytes the parser needs, and for at least one more byte to read.
        var want = Math.Max(needed, have + 1);
        if (_buffer.Length - _start >= want && _end < _buffer.Length)
        {
            return;
        }
        var target = _buffer;
        if (_buffer.Length < want)
        {
            // The parser has already checked want against MaxTotalBytes, so this allocation is bounded.
            var size = Math.Max(want, (int)Math.Min(2L * _buffer.Length, _options.MaxTotalBytes));
            target = ArrayPool<byte>.Shared.Rent(size);
        }
        _buffer.AsSpan(_start, have).CopyTo(target);
        if (!ReferenceEquals(target, _buffer))
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = target;
        }
        _start = 0;
        _end = have;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
        if (!_leaveOpen)
        {
            _stream.Dispose();
        }
    }
}
