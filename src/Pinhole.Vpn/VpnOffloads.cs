namespace Pinhole.Vpn;

/// <summary>
/// Kernel offloads the data plane can use. Each is probed at start-up and can be switched off on its own
/// (offload bugs in kernels and drivers are real: tailscale#13041, #19777); the status reports which are on.
/// </summary>
[Flags]
public enum VpnOffloads
{
    /// <summary>None: one packet per TUN read and write, one datagram per UDP send and receive.</summary>
    None = 0,

    /// <summary>TUN checksum offload (TUN_F_CSUM): the kernel may hand over packets with a partial checksum. Required by the two TUN segmentation offloads.</summary>
    TunChecksum = 1,

    /// <summary>TUN TCP segmentation (TUN_F_TSO4/TSO6): reads of up to 64 KiB TCP super-packets, split here; TCP packets coalesced on write.</summary>
    TunTcpSegmentation = 2,

    /// <summary>TUN UDP segmentation (TUN_F_USO4/USO6, Linux 6.2+): the same for UDP.</summary>
    TunUdpSegmentation = 4,

    /// <summary>UDP generic segmentation on send (UDP_SEGMENT): one sendmsg carries up to 64 equal-sized datagrams.</summary>
    UdpSegmentation = 8,

    /// <summary>UDP generic receive offload (UDP_GRO): one receive returns several datagrams of one sender.</summary>
    UdpCoalescing = 16,

    /// <summary>Everything the kernel supports.</summary>
    All = TunChecksum | TunTcpSegmentation | TunUdpSegmentation | UdpSegmentation | UdpCoalescing,
}
