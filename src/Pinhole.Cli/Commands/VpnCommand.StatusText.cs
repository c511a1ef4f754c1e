using System.Globalization;
using System.Text;
using Pinhole.Vpn;

namespace Pinhole.Cli.Commands;

internal static partial class VpnCommand
{
    /// <summary>The text of 'vpn status', laid out like 'wg show'.</summary>
    internal static class StatusText
    {
        // One line, one object (docs/cli.md): {"interfaces": [status, ...]}.
        internal static string Json(IReadOnlyList<VpnStatus> statuses) =>
            "{\"interfaces\":[" + string.Join(",", statuses.Select(VpnStatusJson.Serialize)) + "]}\n";

        internal static string Format(IReadOnlyList<VpnStatus> statuses, DateTimeOffset now)
        {
            var text = new StringBuilder();
            foreach (VpnStatus status in statuses)
            {
                if (text.Length > 0)
                {
                    text.Append('\n');
                }
                text.Append(CultureInfo.InvariantCulture, $"interface: {status.InterfaceName}\n");
                text.Append(CultureInfo.InvariantCulture, $"  peer id: {status.LocalPeer}\n");
                text.Append(CultureInfo.InvariantCulture, $"  listening: {status.ListenEndPoint}\n");
                text.Append(CultureInfo.InvariantCulture, $"  addresses: {string.Join(", ", status.Addresses)}\n");
                text.Append(CultureInfo.InvariantCulture, $"  mtu: {status.Mtu}\n");
                text.Append(CultureInfo.InvariantCulture, $"  offloads: {Offloads(status.Offloads)}\n");
                foreach (VpnPeerStatus peer in status.Peers.OrderByDescending(p => p.LastHandshake ?? DateTimeOffset.MinValue))
                {
                    text.Append(CultureInfo.InvariantCulture, $"\npeer: {peer.PeerId}{(peer.Name is null ? "" : $" ({peer.Name})")}\n");
                    text.Append(CultureInfo.InvariantCulture, $"  endpoint: {(peer.Endpoint is null ? "(none)" : peer.Endpoint.ToString())} ({peer.Path})\n");
                    text.Append(CultureInfo.InvariantCulture, $"  allowed ips: {(peer.AllowedPrefixes.Count == 0 ? "(none)" : string.Join(", ", peer.AllowedPrefixes))}\n");
                    text.Append(CultureInfo.InvariantCulture, $"  latest handshake: {(peer.LastHandshake is { } h ? Ago(now - h) : "never")}\n");
                    text.Append(CultureInfo.InvariantCulture, $"  transfer: {Bytes(peer.RxBytes)} received, {Bytes(peer.TxBytes)} sent\n");
                    if (peer.Rtt is { } rtt)
                    {
                        text.Append(CultureInfo.InvariantCulture, $"  rtt: {rtt.TotalMilliseconds:0.###} ms\n");
                    }
                    if (peer.PathMtu is { } mtu)
                    {
                        text.Append(CultureInfo.InvariantCulture, $"  path mtu: {mtu}\n");
                    }
                    if (peer.PersistentKeepalive > TimeSpan.Zero)
                    {
                        text.Append(CultureInfo.InvariantCulture, $"  persistent keepalive: every {Ago(peer.PersistentKeepalive).Replace(" ago", "", StringComparison.Ordinal)}\n");
                    }
                    if (peer.Dropped > 0)
                    {
                        text.Append(CultureInfo.InvariantCulture, $"  dropped: {peer.Dropped} packets\n");
                    }
                    if (peer.LastError is { } error)
                    {
                        text.Append(CultureInfo.InvariantCulture, $"  last error: {error}\n");
                    }
                }
            }
            return text.ToString();
        }

        private static string Offloads(VpnOffloads offloads)
        {
            var names = new List<string>();
            if (offloads.HasFlag(VpnOffloads.TunChecksum)) names.Add("tun-checksum");
            if (offloads.HasFlag(VpnOffloads.TunTcpSegmentation)) names.Add("tun-tso");
            if (offloads.HasFlag(VpnOffloads.TunUdpSegmentation)) names.Add("tun-uso");
            if (offloads.HasFlag(VpnOffloads.UdpSegmentation)) names.Add("udp-gso");
            if (offloads.HasFlag(VpnOffloads.UdpCoalescing)) names.Add("udp-gro");
            return names.Count == 0 ? "none" : string.Join(", ", names);
        }

        // "1 minute, 5 seconds ago", as wg show.
        internal static string Ago(TimeSpan elapsed)
        {
            if (elapsed < TimeSpan.FromSeconds(1))
            {
                return "now";
            }
            var parts = new List<string>();
            void Part(long value, string unit)
            {
                if (value > 0)
                {
                    parts.Add($"{value} {unit}{(value == 1 ? "" : "s")}");
                }
            }
            Part((long)elapsed.TotalDays, "day");
            Part(elapsed.Hours, "hour");
            Part(elapsed.Minutes, "minute");
            Part(elapsed.Seconds, "second");
            return string.Join(", ", parts) + " ago";
        }

        internal static string Bytes(long bytes)
        {
            string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
            double value = bytes;
            int unit = 0;
            while (value >= 1024 && unit < units.Length - 1)
            {
                value /= 1024;
                unit++;
            }
            return unit == 0 ? $"{bytes} B" : string.Create(CultureInfo.InvariantCulture, $"{value:0.##} {units[unit]}");
        }
    }
}
