using System.Net;
using Microsoft.Extensions.Logging;

namespace Pinhole.Vpn;

/// <summary>Log messages of the VPN (event ids 11000-11099).</summary>
internal static partial class VpnLog
{
    [LoggerMessage(11000, LogLevel.Information, "VPN {Interface} up: {LocalPeer} on UDP {ListenEndPoint}, MTU {Mtu}, offloads {Offloads}")]
    internal static partial void Started(ILogger logger, string @interface, PeerId localPeer, IPEndPoint listenEndPoint, int mtu, VpnOffloads offloads);

    [LoggerMessage(11001, LogLevel.Information, "Handshake with {Peer} at {EndPoint} complete ({Role})")]
    internal static partial void HandshakeComplete(ILogger logger, string peer, IPEndPoint endPoint, string role);

    [LoggerMessage(11002, LogLevel.Debug, "Handshake with {Peer} at {EndPoint} failed: {Reason}")]
    internal static partial void HandshakeFailed(ILogger logger, string peer, IPEndPoint? endPoint, string reason);

    [LoggerMessage(11003, LogLevel.Information, "Peer {Peer} roamed from {From} to {To}")]
    internal static partial void Roamed(ILogger logger, string peer, IPEndPoint? from, IPEndPoint to);

    [LoggerMessage(11004, LogLevel.Warning, "Handshake from {RemotePeer} at {EndPoint} refused: not a peer of this interface")]
    internal static partial void UnknownPeer(ILogger logger, PeerId remotePeer, EndPoint endPoint);

    [LoggerMessage(11005, LogLevel.Error, "The VPN {Loop} loop stopped")]
    internal static partial void LoopFailed(ILogger logger, string loop, Exception exception);

    [LoggerMessage(11006, LogLevel.Warning, "Offload probe: {Message}")]
    internal static partial void OffloadProbe(ILogger logger, string message);

    [LoggerMessage(11007, LogLevel.Information, "Path MTU to {Peer} is {PathMtu}")]
    internal static partial void PathMtu(ILogger logger, string peer, int pathMtu);

    [LoggerMessage(11008, LogLevel.Warning, "Keypair index collision with {Peer}; handshake discarded")]
    internal static partial void IndexCollision(ILogger logger, string peer);

    [LoggerMessage(11010, LogLevel.Debug, "Packet from {Peer} dropped: its source {Source} is not one of the peer's prefixes")]
    internal static partial void SourceNotAllowed(ILogger logger, string peer, string source);

    [LoggerMessage(11009, LogLevel.Information, "VPN {Interface} down")]
    internal static partial void Stopped(ILogger logger, string @interface);

    [LoggerMessage(11011, LogLevel.Warning, "VPN peers not updated from network {Network}")]
    internal static partial void PeersNotUpdated(ILogger logger, string network, Exception error);

    [LoggerMessage(11012, LogLevel.Information, "VPN data plane is seen as {Mapped} by STUN server {Server}")]
    internal static partial void StunMapped(ILogger logger, System.Net.IPEndPoint mapped, System.Net.EndPoint server);

    [LoggerMessage(11013, LogLevel.Debug, "STUN server {Server} gave the VPN data plane no mapping: {Reason}")]
    internal static partial void StunFailed(ILogger logger, System.Net.EndPoint server, string reason);

    [LoggerMessage(11020, LogLevel.Information, "Path to {Peer} is now {Path}: {Reason}")]
    internal static partial void PathChanged(ILogger logger, string peer, string path, string reason);

    [LoggerMessage(11021, LogLevel.Information, "Relay stream to {Peer} attached")]
    internal static partial void RelayAttached(ILogger logger, string peer);

    [LoggerMessage(11022, LogLevel.Information, "Relay stream to {Peer} closed: {Reason}")]
    internal static partial void RelayClosed(ILogger logger, string peer, string reason);

    [LoggerMessage(11023, LogLevel.Debug, "Relay stream to {Peer} not opened: {Reason}")]
    internal static partial void RelayDialFailed(ILogger logger, string peer, string reason);
}
