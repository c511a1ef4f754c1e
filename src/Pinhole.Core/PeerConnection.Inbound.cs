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
    /// Negotiates each inbound stream on its own task, so that one slow stream cannot stall the others'
    /// negotiation, but hands the streams to <see cref="AcceptStreamAsync"/> in the order the peer opened them
    /// (a stream still negotiating holds back only the peer's later streams, for at most the handshake timeout).
    /// The order matters since dialers open streams optimistically: several negotiations are then in flight at once.
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
                negotiations.Writer.TryWrite(Task.Run(() => NegotiateInboundAsync(stream)));
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

    private async Task DeliverInOrderAsync(ChannelReader<Task<YamuxStream?>> negotiations)
    {
        await foreach (var negotiation in negotiations.ReadAllAsync().ConfigureAwait(false))
        {
            // NegotiateInboundAsync never throws: a failed stream comes back as null.
            if (await negotiation.ConfigureAwait(false) is not { } stream)
            {
                continue;
            }
            if (!_inbound.Writer.TryWrite(stream))
            {
                ConnectionLog.InboundStreamBacklogFull(_logger, RemotePeer, _options.MaxPendingInboundStreams);
                stream.Abort();
                await stream.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Negotiates the protocol; serves the built-in ones in the background. Returns the stream for the
    /// application, or null when it is served here or failed.</summary>
    private async Task<YamuxStream?> NegotiateInboundAsync(YamuxStream stream)
    {
        using var timeout = new Deadline(_options.HandshakeTimeout, _options.TimeProvider, _closing.Token);
        try
        {
            var protocol = await MultistreamSelect.NegotiateAsync(stream, IsSupported, timeout.Token).ConfigureAwait(false);
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
