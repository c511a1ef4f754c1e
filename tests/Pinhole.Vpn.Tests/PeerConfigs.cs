namespace Pinhole.Vpn.Tests;

/// <summary>The VPN files of the two-daemon lab tests: the interface ph0 on port 51820 and one peer.</summary>
internal static class PeerConfigs
{
    /// <summary>A file for <paramref name="address"/>/24 with the one peer <paramref name="peerId"/> at <paramref name="peerAddress"/>/32;
    /// with an <paramref name="endpoint"/> this side dials the peer's UDP port 51820, without one it waits to be reached.</summary>
    public static string OnePeer(string address, string peerId, string peerAddress, string? endpoint, string? name = null) => $"""
        [Interface]
        Name = ph0
        Address = {address}/24
        ListenPort = 51820

        [Peer]
        PeerId = {peerId}
        {(name is null ? "" : $"Name = {name}")}
        AllowedIPs = {peerAddress}/32
        {(endpoint is null ? "" : $"Endpoint = {endpoint}:51820")}
        """;
}
