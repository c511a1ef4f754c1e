using System.Net;
using System.Net.Sockets;
using Pinhole.Nat.Internal;
using Pinhole.Nat.Mapping;

namespace Pinhole.Nat;

public sealed partial class PortMapper
{
    private IPEndPoint PmpServer => new(_options.Gateway!, _options.PmpPort);

    private Task<NatPmpResponse?> PmpExternalAddressAsync(CancellationToken cancellationToken) =>
        PmpExchangeAsync(NatPmpCodec.ExternalAddressRequest(), 128 + NatPmpCodec.OpExternalAddress, null, cancellationToken);

    private Task<NatPmpResponse?> PmpMapAsync(uint lifetimeSeconds, CancellationToken cancellationToken)
    {
        bool udp = _options.Transport == ProtocolType.Udp;
        ushort port = (ushort)_options.InternalPort;
        // Suggest the port we had (or our own); deleting asks for lifetime 0 and external port 0 (RFC 6886 §3.4).
        ushort suggested = lifetimeSeconds == 0 ? (ushort)0 : (ushort)(Current?.Protocol == PortMappingProtocols.NatPmp ? Current.External.Port : port);
        byte[] request = NatPmpCodec.MapRequest(udp, port, suggested, lifetimeSeconds);
        return PmpExchangeAsync(request, (byte)(128 + (udp ? NatPmpCodec.OpMapUdp : NatPmpCodec.OpMapTcp)), port, cancellationToken);
    }

    private async Task<NatPmpResponse?> PmpExchangeAsync(byte[] request, byte expectedOp, ushort? internalPort, CancellationToken cancellationToken)
    {
        NatPmpResponse? result = await GatewayUdp.ExchangeAsync(_options, PmpServer, request, reply =>
        {
            try
            {
                NatPmpResponse r = NatPmpCodec.Parse(reply);
                if (r.Opcode != expectedOp || (internalPort is ushort p && r.Result == 0 && r.InternalPort != p))
                {
                    return null;
                }
                return new Box<NatPmpResponse>(r);
            }
            catch (PeerException e)
            {
                NatLog.PortMappingMalformed(_logger, "NAT-PMP", e.Message);
                return null;
            }
        }, cancellationToken).ConfigureAwait(false) is { } box ? box.Value : null;
        return result;
    }

    /// <summary>A reference wrapper so value results fit <see cref="GatewayUdp.ExchangeAsync{T}"/>.</summary>
    private sealed record Box<T>(T Value) where T : struct;
}
