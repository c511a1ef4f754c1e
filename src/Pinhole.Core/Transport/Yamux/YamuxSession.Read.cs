using System.Buffers;

namespace Pinhole.Transport.Yamux;

/// <summary>The read loop: parses frames from the transport and dispatches them.</summary>
internal sealed partial class YamuxSession
{
    // Read-loop state for a data frame whose payload has not fully arrived. Payloads are handed to the
    // stream as they arrive, so a frame never needs to be buffered whole.
    private YamuxStream? _payloadStream;
    private long _payloadRemaining;
    private YamuxFlags _payloadFlags;
    private long _bytesReceived;

    /// <summary>Bytes of yamux frames (headers and payloads) read from the transport so far.</summary>
    public long BytesReceived => Volatile.Read(ref _bytesReceived);

    // Queued control frames allowed beyond the data limit before a peer counts as flooding (~87k frames).
    private const int ControlFloodAllowance = 1024 * 1024;

    private async Task ReadLoopAsync()
    {
        try
        {
            while (true)
            {
                var result = await _input.ReadAsync(_readCancellation.Token).ConfigureAwait(false);
                var buffer = result.Buffer;
                try
                {
                    ProcessFrames(ref buffer);
                }
                finally
                {
                    // Only this loop writes the counter; readers see whole values (64-bit).
                    Volatile.Write(ref _bytesReceived, _bytesReceived + (result.Buffer.Length - buffer.Length));
                    _input.AdvanceTo(buffer.Start, buffer.End);
                }
                if (_closeError is not null)
                {
                    return;
                }
                if (result.IsCompleted)
                {
                    if (!buffer.IsEmpty || _payloadRemaining > 0)
                    {
                        var error = new PeerException(PeerError.ConnectionClosed, "The yamux connection ended in the middle of a frame.");
                        Shutdown(error, error, null);
                    }
                    else
                    {
                        OnPeerClosed();
                    }
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is FormatException or PeerException { Error: PeerError.ProtocolViolation })
        {
            var violation = ex as PeerException ?? new PeerException(PeerError.ProtocolViolation, ex.Message, ex);
            YamuxLog.ProtocolError(Logger, violation.Message);
            Shutdown(
                new PeerException(PeerError.ConnectionClosed, $"The yamux session was closed after a protocol error: {violation.Message}", violation),
                violation,
                YamuxGoAwayCode.ProtocolError);
        }
        catch (Exception ex)
        {
            OnTransportFailed("reading", ex);
        }
        finally
        {
            await _input.CompleteAsync().ConfigureAwait(false);
        }
    }

    private void OnTransportFailed(string operation, Exception ex)
    {
        if (_closeError is not null)
        {
            return; // our own shutdown closed the transport
        }
        if (RemoteGoAway is not null)
        {
            // After GoAway the peer may close at any moment; a failed read or write then is its close.
            OnPeerClosed(ex);
            return;
        }
        var error = new PeerException(PeerError.ConnectionClosed, $"The yamux connection was lost while {operation}: {ex.Message}", ex);
        Shutdown(error, error, null);
    }

    private void OnPeerClosed(Exception? cause = null)
    {
        var goAway = RemoteGoAway;
        var error = new PeerException(PeerError.ConnectionClosed, goAway is null
            ? "The peer closed the yamux connection without GoAway."
            : $"The peer closed the yamux session (GoAway {goAway}).", cause);
        Exception? completion = goAway switch
        {
            YamuxGoAwayCode.Normal => null,
            YamuxGoAwayCode.ProtocolError => new PeerException(PeerError.ProtocolViolation, "The peer closed the yamux session reporting a protocol error (GoAway 1).", error),
            YamuxGoAwayCode.InternalError => new PeerException(PeerError.InternalError, "The peer closed the yamux session reporting an internal error (GoAway 2).", error),
            _ => error,
        };
        Shutdown(error, completion, null);
    }

    /// <summary>Handles every complete frame (and partial payload) in <paramref name="buffer"/>, which is
    /// advanced past what was consumed.</summary>
    private void ProcessFrames(ref ReadOnlySequence<byte> buffer)
    {
        var sawStreamFrame = false;
        while (_closeError is null)
        {
            if (_payloadRemaining > 0)
            {
                if (buffer.IsEmpty)
                {
                    break;
                }
                if (!sawStreamFrame)
                {
                    StampActivity();
                    sawStreamFrame = true;
                }
                var take = Math.Min(buffer.Length, _payloadRemaining);
                _payloadStream?.OnData(buffer.Slice(0, take));
                buffer = buffer.Slice(take);
                _payloadRemaining -= take;
                if (_payloadRemaining > 0)
                {
                    break;
                }
                EndDataFrame();
                continue;
            }
            if (!YamuxFrameHeader.TryParse(buffer, out var header))
            {
                break;
            }
            buffer = buffer.Slice(YamuxFrameHeader.Size);
            switch (header.Type)
            {
                case YamuxFrameType.Data:
                case YamuxFrameType.WindowUpdate:
                    if (!sawStreamFrame)
                    {
                        StampActivity();
                        sawStreamFrame = true;
                    }
                    HandleStreamFrame(header);
                    break;
                case YamuxFrameType.Ping:
                    HandlePing(header);
                    break;
                default:
                    HandleGoAway(header);
                    break;
            }
        }
    }

    // Stamped once per read, before the first stream frame is handled, so whoever sees a frame's effect (a
    // stream gone, data readable) also sees the activity: an idle check never counts from an older stamp.
    private void StampActivity() => Volatile.Write(ref _lastActivity, TimeProvider.GetTimestamp());

    private void HandleStreamFrame(YamuxFrameHeader header)
    {
        var id = header.StreamId;
        if (id == 0)
        {
            throw new PeerException(PeerError.ProtocolViolation, $"yamux {header.Type} frame on stream 0 (reserved for the session).");
        }
        YamuxStream? stream;
        if ((header.Flags & YamuxFlags.Syn) != 0)
        {
            stream = AcceptInbound(id);
        }
        else
        {
            lock (_lock)
            {
                _streams.TryGetValue(id, out stream);
            }
            if (stream is null)
            {
                // Frames racing with our RST or close: the spec says nothing; like the reference
                // implementation we drop them (and skip any payload).
                YamuxLog.UnknownStream(Logger, id, header.Type);
            }
        }
        if (stream is not null && (header.Flags & YamuxFlags.Ack) != 0)
        {
            OnAcknowledged(stream);
        }
        if (header.Type == YamuxFrameType.WindowUpdate)
        {
            if (stream is not null)
            {
                stream.OnWindowUpdate(header.Length);
                ApplyCloseFlags(stream, header.Flags);
            }
            return;
        }
        if (header.Length > (uint)Options.MaxReceivedFrameSize)
        {
            throw new PeerException(PeerError.ProtocolViolation, $"yamux stream {id} received a {header.Length}-byte data frame; the limit is {Options.MaxReceivedFrameSize} bytes.");
        }
        if (stream is not null && !stream.TryReserve(header.Length, out var credit))
        {
            throw new PeerException(PeerError.ProtocolViolation, $"yamux stream {id} received a {header.Length}-byte data frame but its window allows only {credit} bytes.");
        }
        _payloadStream = stream;
        _payloadFlags = header.Flags;
        _payloadRemaining = header.Length;
        if (header.Length == 0)
        {
            EndDataFrame();
        }
    }

    private void EndDataFrame()
    {
        var stream = _payloadStream;
        _payloadStream = null;
        if (stream is not null)
        {
            ApplyCloseFlags(stream, _payloadFlags);
        }
    }

    private static void ApplyCloseFlags(YamuxStream stream, YamuxFlags flags)
    {
        if ((flags & YamuxFlags.Rst) != 0)
        {
            stream.OnRemoteReset();
        }
        else if ((flags & YamuxFlags.Fin) != 0)
        {
            stream.OnRemoteFin();
        }
    }

    private YamuxStream? AcceptInbound(uint id)
    {
        if ((id % 2 == 1) == _isClient)
        {
            throw new PeerException(PeerError.ProtocolViolation, $"The peer opened yamux stream {id}, an id of our parity ({(_isClient ? "odd" : "even")}).");
        }
        string refusal;
        lock (_lock)
        {
            if (_closeError is not null)
            {
                return null;
            }
            if (_streams.ContainsKey(id))
            {
                throw new PeerException(PeerError.ProtocolViolation, $"The peer opened yamux stream {id} twice.");
            }
            if (_streams.Count >= Options.MaxStreams)
            {
                refusal = $"MaxStreams ({Options.MaxStreams}) reached";
            }
            else if (_pendingInbound >= Options.MaxPendingInboundStreams)
            {
                refusal = $"MaxPendingInboundStreams ({Options.MaxPendingInboundStreams}) reached";
            }
            else
            {
                var stream = new YamuxStream(this, id, isOutbound: false);
                _streams.Add(id, stream);
                _pendingInbound++;
                _acceptQueue.Writer.TryWrite(stream);
                return stream;
            }
        }
        YamuxLog.InboundStreamRefused(Logger, id, refusal);
        SendPeerInducedControl(YamuxFrameType.WindowUpdate, YamuxFlags.Rst, id, 0);
        return null;
    }

    /// <summary>
    /// Queues a reply the peer asked for (ping ACK, refusal RST). Control frames bypass back-pressure, so
    /// a peer that keeps asking without reading our replies would grow our queue without bound; beyond
    /// a generous allowance that is treated as abuse and the session ends.
    /// </summary>
    private void SendPeerInducedControl(YamuxFrameType type, YamuxFlags flags, uint streamId, uint length)
    {
        var limit = (long)Options.MaxWriteBufferSize + Options.MaxDataFrameSize + ControlFloodAllowance;
        if (Writer.Buffered > limit)
        {
            throw new PeerException(PeerError.ProtocolViolation, $"The peer keeps sending pings or streams to refuse while not reading our replies ({Writer.Buffered} bytes queued).");
        }
        Writer.TryWrite(type, flags, streamId, length);
    }

    private void OnAcknowledged(YamuxStream stream)
    {
        TaskCompletionSource? waiter = null;
        lock (_lock)
        {
            if (stream.AwaitingAck)
            {
                stream.AwaitingAck = false;
                _unacknowledgedOutbound--;
                waiter = _ackWaiter;
                _ackWaiter = null;
            }
        }
        waiter?.TrySetResult();
    }

    private void HandleGoAway(YamuxFrameHeader header)
    {
        var code = (YamuxGoAwayCode)header.Length;
        TaskCompletionSource? waiter;
        lock (_lock)
        {
            _remoteGoAway = code;
            waiter = _ackWaiter;
            _ackWaiter = null;
        }
        YamuxLog.GoAwayReceived(Logger, code);
        waiter?.TrySetResult(); // openers waiting for an ACK now fail with Refused
    }
}
