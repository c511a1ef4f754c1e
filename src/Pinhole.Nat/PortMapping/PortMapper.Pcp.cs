using Pinhole.Nat.Internal;
using Pinhole.Nat.Mapping;

namespace Pinhole.Nat;

public sealed partial class PortMapper
{
    private async Task<PcpResponse?> PcpAnnounceAsync(CancellationToken cancellationToken) =>
        await GatewayUdp.ExchangeAsync(_options, PmpServer, PcpCodec.AnnounceRequest(_local), reply => AcceptPcp(reply, PcpCodec.OpAnnounce), cancellationToken).ConfigureAwait(false) is { } box ? box.Value : null;

    // The same nonce for the mapping's whole life (RFC 6887 §11.2): renewals and the delete name the same mapping.
    private async Task<PcpResponse?> PcpMapAsync(uint lifetimeSeconds, CancellationToken cancellationToken)
    {
        ushort port = (ushort)_options.InternalPort;
        ushort suggested = (ushort)(Current?.Protocol == PortMappingProtocols.Pcp ? Current.External.Port : port);
        byte protocol = _options.Transport == System.Net.Sockets.ProtocolType.Udp ? (byte)17 : (byte)6;
        byte[] request = PcpCodec.MapRequest(_local, _pcpNonce, protocol, port, suggested, lifetimeSeconds);
        return await GatewayUdp.ExchangeAsync(_options, PmpServer, request, reply => AcceptPcp(reply, PcpCodec.OpMap), cancellationToken).ConfigureAwait(false) is { } box ? box.Value : null;
    }

    private Box<PcpResponse>? AcceptPcp(byte[] reply, byte opcode)
    {
        try
        {
            PcpResponse r = PcpCodec.Parse(reply);
            if (r.IsNatPmpVersionMismatch)
            {
                return new Box<PcpResponse>(r);
            }
            if (r.Opcode != opcode)
            {
                return null;
            }
            // A MAP reply for another nonce belongs to someone else's request (or is spoofed): ignore it.
            if (opcode == PcpCodec.OpMap && r.Result == PcpCodec.ResultSuccess && !r.Nonce.Span.SequenceEqual(_pcpNonce))
            {
                NatLog.PortMappingMalformed(_logger, "PCP", "a MAP response with another nonce");
                return null;
            }
            return new Box<PcpResponse>(r);
        }
        catch (PeerException e)
        {
            NatLog.PortMappingMalformed(_logger, "PCP", e.Message);
            return null;
        }
    }
}
