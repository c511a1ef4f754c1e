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

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (true)
            {
                var stream = await _session.AcceptStreamAsync(_closing.Token).ConfigureAwait(false);
                // Negotiation runs per stream so that one slow peer stream cannot stall the others.
                _ = Task.Run(() => HandleInboundAsync(stream));
            }
        }
        catch (Exception e)
        {
            var reason = e as PeerException ?? new PeerException(PeerError.ConnectionClosed, $"The connection with {RemotePeer} is closed.", e);
            _inbound.Writer.TryComplete(reason);
            ConnectionLog.Closed(_logger, RemotePeer, reason.Message);
        }
    }

    private async Task HandleInboundAsync(YamuxStream stream)
    {
        using var timeout = new Deadline(_options.HandshakeTimeout, _options.TimeProvider, _closing.Token);
        try
        {
            var protocol = await MultistreamSelect.NegotiateAsync(stream, IsSupported, timeout.Token).ConfigureAwait(false);
            stream.SetProtocol(protocol);
            switch (protocol)
            {
                case PingProtocol.ProtocolId:
                    await using (stream.ConfigureAwait(false))
                    {
                        await PingProtocol.ServeAsync(stream, _closing.Token).ConfigureAwait(false);
                    }
                    return;
                case IdentifyProtocol.ProtocolId:
                    await using (stream.ConfigureAwait(false))
                    {
                        await IdentifyProtocol.WriteAsync(stream, BuildIdentify(), timeout.Token).ConfigureAwait(false);
                        stream.CompleteWrites();
                    }
                    return;
                default:
                    if (!_inbound.Writer.TryWrite(stream))
                    {
                        ConnectionLog.InboundStreamBacklogFull(_logger, RemotePeer, _options.MaxPendingInboundStreams);
                        stream.Abort();
                    }
                    return;
            }
        }
        catch (Exception e)
        {
            ConnectionLog.InboundStreamFailed(_logger, RemotePeer, e.Message);
            stream.Abort();
            await stream.DisposeAsync().ConfigureAwait(false);
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
