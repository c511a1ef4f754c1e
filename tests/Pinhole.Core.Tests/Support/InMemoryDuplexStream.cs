namespace Pinhole.Core.Tests.Support;

/// <summary>
/// One end of an in-memory full-duplex byte stream. Reads return what is buffered (at most the
/// requested count), wait for more, honour cancellation, and return 0 after the peer completed writes.
/// </summary>
public sealed class InMemoryDuplexStream : Stream
{
    private readonly Pipe _incoming;
    private readonly Pipe _outgoing;

    private InMemoryDuplexStream(Pipe incoming, Pipe outgoing)
    {
        _incoming = incoming;
        _outgoing = outgoing;
    }

    /// <summary>Two connected ends.</summary>
    public static (InMemoryDuplexStream A, InMemoryDuplexStream B) CreatePair()
    {
        var ab = new Pipe();
        var ba = new Pipe();
        return (new InMemoryDuplexStream(ba, ab), new InMemoryDuplexStream(ab, ba));
    }

    /// <summary>Number of write calls made on this end (to check "one write").</summary>
    public int WriteCount { get; private set; }

    private readonly List<byte> _written = [];

    /// <summary>Everything written on this end so far (a transcript of what the peer was sent).</summary>
    public byte[] WrittenBytes
    {
        get
        {
            lock (_written)
            {
                return [.. _written];
            }
        }
    }

    private void Record(ReadOnlySpan<byte> data)
    {
        lock (_written)
        {
            _written.AddRange(data);
        }
    }

    /// <summary>Number of bytes read from this end.</summary>
    public long BytesRead { get; private set; }

    /// <summary>Bytes written by the peer and not read yet.</summary>
    public int Available => _incoming.Count;

    /// <summary>Signals end of stream to the peer.</summary>
    public void CompleteWrites() => _outgoing.Complete();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await _incoming.ReadAsync(buffer, cancellationToken);
        BytesRead += n;
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        WriteCount++;
        Record(buffer.Span);
        _outgoing.Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count)
    {
        WriteCount++;
        Record(buffer.AsSpan(offset, count));
        _outgoing.Write(buffer.AsSpan(offset, count));
    }

    public override void Flush() { }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _outgoing.Complete();
        }
        base.Dispose(disposing);
    }

    private sealed class Pipe
    {
        private readonly Queue<byte> _bytes = new();
        private readonly object _gate = new();
        private TaskCompletionSource _dataAvailable = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private bool _completed;

        public int Count
        {
            get
            {
                lock (_gate)
                {
                    return _bytes.Count;
                }
            }
        }

        public void Write(ReadOnlySpan<byte> data)
        {
            TaskCompletionSource signal;
            lock (_gate)
            {
                if (_completed)
                {
                    throw new IOException("Write after the stream was completed.");
                }
                foreach (var b in data)
                {
                    _bytes.Enqueue(b);
                }
                signal = _dataAvailable;
            }
            signal.TrySetResult();
        }

        public void Complete()
        {
            TaskCompletionSource signal;
            lock (_gate)
            {
                _completed = true;
                signal = _dataAvailable;
            }
            signal.TrySetResult();
        }

        public async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken)
        {
            while (true)
            {
                Task wait;
                lock (_gate)
                {
                    if (_bytes.Count > 0 || buffer.Length == 0)
                    {
                        var n = Math.Min(buffer.Length, _bytes.Count);
                        for (var i = 0; i < n; i++)
                        {
                            buffer.Span[i] = _bytes.Dequeue();
                        }
                        return n;
                    }
                    if (_completed)
                    {
                        return 0;
                    }
                    if (_dataAvailable.Task.IsCompleted)
                    {
                        _dataAvailable = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    }
                    wait = _dataAvailable.Task;
                }
                await wait.WaitAsync(cancellationToken);
            }
        }
    }
}
