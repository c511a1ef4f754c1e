using System.Net;

namespace Pinhole.Testing.Netlab;

/// <summary>The nftables rulesets and miniupnpd configuration of the lab's routers.</summary>
internal static class LabRules
{
    /// <summary>
    /// One router: WAN interface "wan", LAN "lan". Inbound on WAN is dropped unless conntrack knows the flow or
    /// it was translated by a mapping (1:1 or a port mapping), so early punch packets leave no state behind.
    /// miniupnpd adds its rules to the upnp_* chains of this table.
    /// </summary>
    internal static string Router(NatType nat, IPAddress? host, IPAddress wan, IReadOnlyList<IPAddress>? routerStunServers = null)
    {
        string translate = nat switch
        {
            NatType.OneToOne => $"oifname \"wan\" ip saddr {host} snat ip to {wan}",
            NatType.Hard => "oifname \"wan\" masquerade random",
            NatType.HardFullyRandom => "oifname \"wan\" masquerade fully-random",
            _ => "oifname \"wan\" masquerade",
        };
        string inbound = nat == NatType.OneToOne ? $"iifname \"wan\" ip daddr {wan} dnat ip to {host}" : "";
        string udpBlock = nat == NatType.UdpBlocked ? "meta l4proto udp drop" : "";
        // miniupnpd checks with RFC 5780 that nothing upstream filters; let the lab's STUN server reach the router itself.
        string stunToRouter = routerStunServers is { Count: > 0 } servers ? $"iifname \"wan\" ip saddr {{ {string.Join(", ", servers)} }} udp sport {{ 3478, 3479 }} accept" : "";
        // miniupnpd 2.3.1 (nftables) adds every rule, NAT ones included, in the inet family (NFPROTO_INET in
        // netfilter_nft/nftnlrdr.c), so one inet table holds the NAT chains and the filter chains it jumps to.
        return $$"""
            table inet lab {
              chain upnp_prerouting {
              }
              chain upnp_postrouting {
              }
              chain upnp_forward {
              }
              chain prerouting {
                type nat hook prerouting priority dstnat; policy accept;
                {{inbound}}
                jump upnp_prerouting
              }
              chain postrouting {
                type nat hook postrouting priority srcnat; policy accept;
                jump upnp_postrouting
                {{translate}}
              }
              chain input {
                type filter hook input priority filter; policy accept;
                iifname "wan" ct state established,related accept
                {{stunToRouter}}
                iifname "wan" drop
              }
              chain forward {
                type filter hook forward priority filter; policy accept;
                {{udpBlock}}
                iifname "wan" ct state established,related accept
                iifname "wan" ct status dnat accept
                jump upnp_forward
                iifname "wan" drop
              }
            }
            """;
    }

    /// <summary>
    /// miniupnpd 2.3.1: UPnP IGD on the LAN, NAT-PMP and PCP; STUN against the lab's coturn to learn the
    /// external address (it treats documentation ranges as reserved otherwise and disables forwarding).
    /// Without <paramref name="stunHost"/> (the home router of a double NAT, like most consumer routers) it
    /// reports no external address for its 100.64 WAN and refuses to map.
    /// </summary>
    internal static string Miniupnpd(IPAddress? stunHost, int stunPort, int httpPort) => $"""
        ext_ifname=wan
        listening_ip=lan
        http_port={httpPort}
        enable_natpmp=yes
        secure_mode=yes
        system_uptime=no
        {(stunHost is null ? "ext_perform_stun=no" : $"ext_perform_stun=yes\next_stun_host={stunHost}\next_stun_port={stunPort}")}
        uuid={Guid.NewGuid()}
        upnp_table_name=lab
        upnp_nat_table_name=lab
        upnp_forward_chain=upnp_forward
        upnp_nat_chain=upnp_prerouting
        upnp_nat_postrouting_chain=upnp_postrouting
        min_lifetime=60
        max_lifetime=86400
        allow 1024-65535 10.0.0.0/8 1024-65535
        deny 0-65535 0.0.0.0/0 0-65535

        """;
}
