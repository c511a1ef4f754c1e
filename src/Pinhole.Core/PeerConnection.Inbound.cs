using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Pinhole.Connections;
using Pinhole.Protocols;
using Pinhole.Transport.Multistream;
using Pinhole.Transport.Yamux;

namespace Pinhole;

public sealed partial class PeerConnection
{
    /// <summary>Protocol version sent in identify (the value libp2p nodes use).</summary>
    public const string ProtocolVersion = "ipfs/0.1.0";

    private bool IsSupported(string protocol)
        => (protocol is PingProtocol.ProtocolId or IdentifyProtocol.ProtocolId || _protocols is null || _protocols.Contains(protocol))
            && AllowsProtocol(protocol);

    /// <summary>
    /// Negotiates each inbound stream as it arrives, on this loop: with an optimistic dialer the header and the
    /// proposal are already buffered, so the negotiation completes at once and the stream is handed to
    /// <see cref="AcceptStreamAsync"/> without a thread hop. A stream whose proposal has not arrived yields at its
    /// first read and finishes on its own (one slow stream cannot stall the others' negotiation). Streams are
    /// still handed out in the order the peer opened them: a stream that negotiated at once goes straight out only
    /// when no earlier stream is still negotiating; otherwise it queues behind it (for at most the handshake timeout).
    /// </summary>
    private async Task AcceptLoopAsync()
    {
        var negotiations = Channel.CreateUnbounded<Task<YamuxStream?>>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var delivery = DeliverInOrderAsync(negotiations.Reader);
        PeerException reason;
        try
        {
            while (true)
            {
                var stream = await _session.AcceptStreamAsync(_closing.Token).ConfigureAwait(false);
                var negotiation = NegotiateInboundAsync(stream);
                if (negotiation.IsCompleted && Volatile.Read(ref _queuedNegotiations) == 0)
                {
                    // NegotiateInboundAsync never throws: a failed stream comes back as null.
                    await DeliverAsync(negotiation.Result).ConfigureAwait(false);
                }
                else
                {
                    Interlocked.Increment(ref _queuedNegotiations);
                    negotiations.Writer.TryWrite(negotiation);
                }
            }
        }
        catch (Exception e)
        {
            reason = e as PeerException ?? new PeerException(PeerError.ConnectionClosed, $"The connection with {RemotePeer} is closed.", e);
        }
        negotiations.Writer.TryComplete();
        await delivery.ConfigureAwait(false);
        _inbound.Writer.TryComplete(reason);
        ConnectionLog.Closed(_logger, RemotePeer, reason.Message);
    }

    /// <summary>Negotiations that did not complete at once (or queued behind one), in the peer's order; the count
    /// drops only after the stream was handed out, so the accept loop never overtakes a queued stream.</summary>
    private int _queuedNegotiations;

    private async Task DeliverInOrderAsync(ChannelReader<Task<YamuxStream?>> negotiations)
    {
        await foreach (var negotiation in negotiations.ReadAllAsync().ConfigureAwait(false))
        {
            // NegotiateInboundAsync never throws: a failed stream comes back as null.
            await DeliverAsync(await negotiation.ConfigureAwait(false)).ConfigureAwait(false);
            Interlocked.Decrement(ref _queuedNegotiations);
        }
    }

    private async ValueTask DeliverAsync(YamuxStream? stream)
    {
        if (stream is not null && !_inbound.Writer.TryWrite(stream))
        {
            ConnectionLog.InboundStreamBacklogFull(_logger, RemotePeer, _options.MaxPendingInboundStreams);
            stream.Abort();
            await stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Negotiates the protocol; serves the built-in ones in the background. Returns the stream for the
    /// application, or null when it is served here or failed.</summary>
    /// <remarks>The handshake timeout is armed only when the negotiation has to wait for the peer (a timer that
    /// resets the stream, which fails the pending read); one that completes from buffered bytes costs no timer.</remarks>
    private async Task<YamuxStream?> NegotiateInboundAsync(YamuxStream stream)
    {
        ITimer? deadline = null;
        StrongBox<bool>? expired = null;
        try
        {
            // The echo to an optimistic dialer waits for the stream's first bytes (YamuxStream.TryDeferAnswer).
            var negotiation = MultistreamSelect.NegotiateAsync(stream, IsSupported, CancellationToken.None, stream.TryDeferAnswer);
            if (!negotiation.IsCompleted)
            {
                expired = new StrongBox<bool>();
                deadline = _options.TimeProvider.CreateTimer(static state =>
                {
                    var (s, flag) = ((YamuxStream, StrongBox<bool>))state!;
                    Volatile.Write(ref flag.Value, true);
                    s.Abort();
                }, (stream, expired), _options.HandshakeTimeout, Timeout.InfiniteTimeSpan);
            }
            string protocol;
            try
            {
                protocol = await negotiation.ConfigureAwait(false);
            }
            catch (PeerException) when (expired is not null && Volatile.Read(ref expired.Value))
            {
                throw new PeerException(PeerError.Timeout, $"Inbound stream from {RemotePeer} did not finish protocol negotiation within {_options.HandshakeTimeout.TotalSeconds:0.#} s.");
            }
            stream.SetProtocol(protocol);
            switch (protocol)
            {
                case PingProtocol.ProtocolId:
                    _ = ServeBuiltInAsync(stream, static (c, s) => PingProtocol.ServeAsync(s, c._closing.Token));
                    return null;
                case IdentifyProtocol.ProtocolId:
                    _ = ServeBuiltInAsync(stream, static async (c, s) =>
                    {
                        using var deadline = new Deadline(c._options.HandshakeTimeout, c._options.TimeProvider, c._closing.Token);
                        await IdentifyProtocol.WriteAsync(s, c.BuildIdentify(), deadline.Token).ConfigureAwait(false);
                        s.CompleteWrites();
                    });
                    return null;
                default:
                    return stream;
            }
        }
        catch (Exception e)
        {
            ConnectionLog.InboundStreamFailed(_logger, RemotePeer, e.Message);
            stream.Abort();
            await stream.DisposeAsync().ConfigureAwait(false);
            return null;
        }
        finally
        {
            deadline?.Dispose();
        }
    }

    private async Task ServeBuiltInAsync(YamuxStream stream, Func<PeerConnection, YamuxStream, Task> serve)
    {
        try
        {
            await using (stream.ConfigureAwait(false))
            {
                await serve(this, stream).ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            ConnectionLog.InboundStreamFailed(_logger, RemotePeer, e.Message);
            stream.Abort();
        }
    }

    private IdentifyMessage BuildIdentify()
    {
        var protocols = new List<string> { PingProtocol.ProtocolId, IdentifyProtocol.ProtocolId };
        if (_protocols is not null)
        {
            protocols.AddRange(_protocols);
        }
        return new IdentifyMessage
        {
            ProtocolVersion = ProtocolVersion,
            AgentVersion = AgentVersion,
            PublicKey = _options.Identity!.PublicKey.Encoded.ToArray(),
            ListenAddrs = [.. _listenAddresses()],
            ObservedAddr = RemoteAddress,
            Protocols = protocols,
        };
    }
}
