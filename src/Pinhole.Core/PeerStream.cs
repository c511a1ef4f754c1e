namespace Pinhole;

/// <summary>
/// A bidirectional byte stream to a peer, multiplexed over a connection.
/// Shaped like <c>System.Net.Quic.QuicStream</c>: <see cref="CompleteWrites"/> half-closes the sending
/// side (the peer reads end of stream), <see cref="Abort"/> resets the stream with an error the peer sees.
/// </summary>
public abstract class PeerStream : Stream
{
    /// <summary>The stream's id on its connection (yamux stream id for the tcp netlayer).</summary>
    public abstract long Id { get; }

    /// <summary>The application protocol negotiated for this stream, e.g. <c>/ipfs/ping/1.0.0</c>.</summary>
    public abstract string Protocol { get; }

    /// <summary>Completes when the peer has half-closed its side (end of stream) or the stream was aborted.</summary>
    public abstract Task ReadsClosed { get; }

    /// <summary>Completes when our sending side is closed: by <see cref="CompleteWrites"/>, abort or connection loss.</summary>
    public abstract Task WritesClosed { get; }

    /// <summary>Half-closes our sending side after all written data; the peer's reads then return 0.</summary>
    public abstract void CompleteWrites();

    /// <summary>Resets the stream in both directions; pending and later operations on both ends fail with
    /// <see cref="PeerError.StreamAborted"/>.</summary>
    public abstract void Abort();

    /// <inheritdoc/>
    public override bool CanSeek => false;

    /// <inheritdoc/>
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc/>
    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <inheritdoc/>
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc/>
    public override void SetLength(long value) => throw new NotSupportedException();
}
