using System.Buffers;
using System.IO.Pipelines;
using Microsoft.Extensions.Logging.Abstractions;
using Pinhole.Transport.Yamux;

namespace Pinhole.Core.Tests.Yamux;

/// <summary>A hand-driven peer: writes raw bytes and reads frames, to test a session against bad input.</summary>
internal sealed class RawYamuxPeer : IAsyncDisposable
{
    private readonly DuplexPipeStream _stream;
    private readonly PipeReader _reader;

    private RawYamuxPeer(YamuxSession session, DuplexPipeStream stream)
    {
        Session = session;
        _stream = stream;
        _reader = PipeReader.Create(stream);
    }

    public YamuxSession Session { get; }

    /// <summary>A started session (server side unless <paramref name="sessionIsClient"/>) facing a raw peer.</summary>
    public static RawYamuxPeer Start(YamuxSessionOptions? options = null, TimeProvider? time = null, bool sessionIsClient = false)
    {
        var (left, right) = DuplexPipeStream.CreatePair();
        var session = new YamuxSession(left, sessionIsClient, options ?? new YamuxSessionOptions(), time ?? TimeProvider.System, NullLogger.Instance);
        session.Start();
        return new RawYamuxPeer(session, right);
    }

    public Task SendAsync(YamuxFrameType type, YamuxFlags flags, uint streamId, uint length, byte[]? payload = null)
    {
        var bytes = new byte[YamuxFrameHeader.Size + (payload?.Length ?? 0)];
        new YamuxFrameHeader(type, flags, streamId, length).Write(bytes);
        payload?.CopyTo(bytes, YamuxFrameHeader.Size);
        return SendRawAsync(bytes);
    }

    public async Task SendRawAsync(byte[] bytes) => await _stream.WriteAsync(bytes).AsTask().WaitAsync(YamuxTestPair.Timeout);

    /// <summary>The next frame (with its payload for data frames), or null at end of stream.</summary>
    public async Task<(YamuxFrameHeader Header, byte[] Payload)?> ReadFrameAsync()
    {
        while (true)
        {
            var result = await _reader.ReadAsync().AsTask().WaitAsync(YamuxTestPair.Timeout);
            var buffer = result.Buffer;
            if (YamuxFrameHeader.TryParse(buffer, out var header))
            {
                var payloadLength = header.Type == YamuxFrameType.Data ? header.Length : 0;
                if (buffer.Length >= YamuxFrameHeader.Size + payloadLength)
                {
                    var payload = buffer.Slice(YamuxFrameHeader.Size, payloadLength).ToArray();
                    _reader.AdvanceTo(buffer.GetPosition(YamuxFrameHeader.Size + payloadLength));
                    return (header, payload);
                }
            }
            if (result.IsCompleted)
            {
                _reader.AdvanceTo(buffer.End);
                return null;
            }
            _reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>Reads frames until one matches (answers nothing); fails at end of stream.</summary>
    public async Task<(YamuxFrameHeader Header, byte[] Payload)> ReadUntilAsync(Func<YamuxFrameHeader, bool> match, string what)
    {
        while (true)
        {
            var frame = await ReadFrameAsync() ?? throw new Xunit.Sdk.XunitException($"The session closed the connection before sending {what}.");
            if (match(frame.Header))
            {
                return frame;
            }
        }
    }

    /// <summary>Answers the session's first (RTT) ping, so that ping timeouts do not interfere.</summary>
    public async Task AnswerFirstPingAsync()
    {
        var ping = await ReadUntilAsync(h => h.Type == YamuxFrameType.Ping && h.Flags == YamuxFlags.Syn, "the first ping");
        await SendAsync(YamuxFrameType.Ping, YamuxFlags.Ack, 0, ping.Header.Length);
        await Eventually.TrueAsync(() => Session.LastRtt is not null, "the RTT sample");
    }

    /// <summary>Reads until the GoAway frame and returns its code.</summary>
    public async Task<YamuxGoAwayCode> ReadGoAwayAsync() =>
        (YamuxGoAwayCode)(await ReadUntilAsync(h => h.Type == YamuxFrameType.GoAway, "GoAway")).Header.Length;

    /// <summary>Reads what is left until end of stream (the session closed the transport).</summary>
    public async Task ReadToEndAsync()
    {
        while (await ReadFrameAsync() is not null)
        {
        }
    }

    /// <summary>Ends the raw side's output: the session reads end of stream.</summary>
    public void ShutdownOutput() => _stream.ShutdownOutput();

    /// <summary>Breaks the connection: the session's reads and writes fail with <paramref name="error"/>.</summary>
    public void BreakTransport(Exception error) => _stream.Break(error);

    public async ValueTask DisposeAsync()
    {
        await Session.DisposeAsync().AsTask().WaitAsync(YamuxTestPair.Timeout);
        await _stream.DisposeAsync();
    }
}
