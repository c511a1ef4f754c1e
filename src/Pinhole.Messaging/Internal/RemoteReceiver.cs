using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.IO.Pipelines;
using System.Threading.Channels;
using Pinhole.Messaging.MessagePack;

namespace Pinhole.Messaging.Internal;

/// <summary>
/// Receives messages from a channel stream.
/// <code>
/// PeerStream --PipeReader--> frames --decode--> bounded Channel (ReceiveCapacity) --> ReadAsync
/// </code>
/// The pump stops reading the stream while the channel is full, so the peer's flow-control window closes
/// and its writes wait: memory stays bounded by the window plus ReceiveCapacity decoded messages.
/// </summary>
internal sealed class RemoteReceiver<T> : Receiver<T>
{
    private readonly MessageSession _session;
    private readonly IMessageCodec<T> _codec;
    private readonly Task<PeerStream> _streamTask;
    private readonly Channel<T> _channel;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _pump;
    private PeerStream? _stream;
    private int _disposed;

    public RemoteReceiver(MessageSession session, IMessageCodec<T> codec, Task<PeerStream> stream)
    {
        _session = session;
        _codec = codec;
        _streamTask = stream;
        _channel = Channel.CreateBounded<T>(new BoundedChannelOptions(session.Options.ReceiveCapacity)
        {
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _pump = PumpAsync();
    }

    public override Task Completion => _channel.Reader.Completion;

    public override bool CanCount => true;

    public override int Count => _channel.Reader.Count;

    public override bool TryRead([MaybeNullWhen(false)] out T item) => _channel.Reader.TryRead(out item);

    public override bool TryPeek([MaybeNullWhen(false)] out T item) => _channel.Reader.TryPeek(out item);

    public override ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default) =>
        _channel.Reader.WaitToReadAsync(cancellationToken);

    public override ValueTask<T> ReadAsync(CancellationToken cancellationToken = default) =>
        _channel.Reader.ReadAsync(cancellationToken);

    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        bool finished = _channel.Reader.Completion.IsCompleted;
        await _stop.CancelAsync().ConfigureAwait(false);
        _channel.Writer.TryComplete(new ChannelClosedException("The receiver was disposed."));
        while (_channel.Reader.TryRead(out _))
        {
        }
        try
        {
            await _pump.ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
        }
        if (_stream is { } stream)
        {
            if (!finished && !stream.WritesClosed.IsCompleted)
            {
                // Tell the sender to stop; disposing then discards what is still in flight until its end.
                try
                {
                    var body = MessageCodec.Serialize(MessageCodec.String, "disposed");
                    var frame = new ArrayBufferWriter<byte>(16);
                    ChannelFrame.WriteHeader(frame, ChannelFrameType.Stop, body.Length);
                    frame.Write(body);
                    await stream.WriteAsync(frame.WrittenMemory).ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // Best effort: the stream may already be closed or reset; disposing below ends it either way.
                }
            }
            await stream.DisposeAsync().ConfigureAwait(false);
        }
        _stop.Dispose();
    }

    private async Task PumpAsync()
    {
        PeerStream stream;
        try
        {
            stream = await _streamTask.WaitAsync(_stop.Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _channel.Writer.TryComplete(e);
            return;
        }
        _stream = stream;
        var input = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 64 * 1024, minimumReadSize: 4096, leaveOpen: true));
        try
        {
            while (true)
            {
                var result = await input.ReadAsync(_stop.Token).ConfigureAwait(false);
                var buffer = result.Buffer;
                try
                {
                    while (ChannelFrame.TryRead(ref buffer, _session.Options.MaxMessageSize, out var type, out var body))
                    {
                        switch (type)
                        {
                            case ChannelFrameType.Message:
                                var item = Decode(body);
                                if (!_channel.Writer.TryWrite(item))
                                {
                                    await _channel.Writer.WriteAsync(item, _stop.Token).ConfigureAwait(false);
                                }
                                break;
                            case ChannelFrameType.Error:
                                string reason = MessageCodec.Deserialize(MessageCodec.String, body) ?? "The sender closed the channel with an error.";
                                _channel.Writer.TryComplete(new ChannelAbortedException(reason) { IsRemote = true });
                                return;
                            default:
                                throw new PeerException(PeerError.ProtocolViolation, $"Unexpected {type} frame from a sender.");
                        }
                    }
                    if (result.IsCompleted)
                    {
                        if (!buffer.IsEmpty)
                        {
                            throw new PeerException(PeerError.ProtocolViolation, "The channel stream ended inside a frame.");
                        }
                        _channel.Writer.TryComplete();
                        stream.CompleteWrites();
                        return;
                    }
                }
                finally
                {
                    input.AdvanceTo(buffer.Start, buffer.End);
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (MessagePackException e)
        {
            stream.Abort();
            MessagingLog.ChannelProtocolViolation(_session.Logger, _session.RemotePeer, e.Message);
            _channel.Writer.TryComplete(new PeerException(PeerError.ProtocolViolation, $"Malformed message on a channel from {_session.RemotePeer}: {e.Message}", e));
        }
        catch (PeerException e) when (e.Error is PeerError.ProtocolViolation or PeerError.LimitExceeded)
        {
            stream.Abort();
            MessagingLog.ChannelProtocolViolation(_session.Logger, _session.RemotePeer, e.Message);
            _channel.Writer.TryComplete(e);
        }
        catch (Exception e)
        {
            _channel.Writer.TryComplete(e);
        }
        finally
        {
            await input.CompleteAsync().ConfigureAwait(false);
        }
    }

    private T Decode(ReadOnlySequence<byte> body) =>
        MessageCodec.Deserialize(_codec, body, _session.ReaderOptions, _session);
}
