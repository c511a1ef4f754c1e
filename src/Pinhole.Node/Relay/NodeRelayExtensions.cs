using Pinhole.Nat.Dcutr;
using Pinhole.Nat.Relay;

namespace Pinhole.Node;

/// <summary>Plugs circuit relay v2 and DCUtR into a node.</summary>
public static class NodeRelayExtensions
{
    /// <summary>
    /// Adds the relay service (<see cref="NodeRelayService"/>): the stop handler (relayed connections are accepted and
    /// handed to the connection manager), a dialer for <c>/p2p-circuit</c> addresses, reservations on
    /// <see cref="NodeRelayOptions.Relays"/> when the node is not publicly reachable (their circuit addresses are then
    /// advertised), optionally the hop handler (serving as a relay), and DCUtR on relayed connections.
    /// </summary>
    public static PinholeNodeBuilder UseRelays(this PinholeNodeBuilder builder, NodeRelayOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var service = new NodeRelayService(options);
        builder.Handle(RelayClient.StopProtocolId, service.HandleStopAsync);
        if (options.ServeRelay)
        {
            builder.Handle(RelayServer.HopProtocolId, service.HandleHopAsync);
        }
        if (options.HolePunching)
        {
            builder.Handle(DcutrService.ProtocolId, service.HandleDcutrAsync);
            // Punches dial from the listen port.
            builder.Options.Transport.ReusePort = true;
        }
        return builder.AddDialer(service).AddService(service);
    }
}
