using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;
using Pinhole.Vpn.Native;
using Pinhole.Vpn.Offload;

namespace Pinhole.Vpn.Tun;

/// <summary>
/// A Linux TUN interface opened through /dev/net/tun with IFF_TUN | IFF_NO_PI, and IFF_VNET_HDR when any
/// TUN offload is wanted: then every read and write carries a 10-byte virtio-net header, reads may be
/// TCP/UDP super-packets of up to 64 KiB (split here by <see cref="GsoSplitter"/>) and writes are coalesced
/// (<see cref="GroCoalescer"/>). TUNSETOFFLOAD takes its mask by value; what the kernel refuses is left off.
/// Address, MTU, state and routes are set through <see cref="RtNetlink"/>.
/// </summary>
internal sealed unsafe class LinuxTun : ITunDevice
{
    // linux/if_tun.h (x86_64/arm64 _IOW/_IOR encodings)
    private const nuint TunSetIff = 0x400454CA;
    private const nuint TunGetIff = 0x800454D2;
    private const nuint TunSetOffload = 0x400454D0;
    private const nuint TunGetFeatures = 0x800454CF;
    private const short IffTun = 0x0001;
    private const short IffNoPi = 0x1000;
    private const short IffVnetHdr = 0x4000;
    private const uint TunFCsum = 0x01;
    private const uint TunFTso4 = 0x02;
    private const uint TunFTso6 = 0x04;
    private const uint TunFUso4 = 0x20;
    private const uint TunFUso6 = 0x40;
    private const int IfReqSize = 40;
    private const int IfNameSize = 16;
    private const int ReadBufferSize = VirtioNetHeader.Size + 65535;

    private readonly SafeFileHandle _tun;
    private readonly SafeFileHandle _wake;
    private readonly byte[] _readBuffer = GC.AllocateArray<byte>(ReadBufferSize, pinned: true);
    private readonly byte[] _headerScratch = GC.AllocateArray<byte>(VirtioNetHeader.Size * 2, pinned: true);
    private readonly byte[] _fallback = GC.AllocateArray<byte>(65535, pinned: true);
    private readonly GroCoalescer _gro = new();
    private readonly bool _vnetHeader;
    private IoVec[] _iov = new IoVec[GroCoalescer.MaxSegments + 2];
    private readonly VpnOffloads _offloads;
    private int _pendingLength;
    private int _pendingNext;
    private VirtioNetHeader _pendingHeader;
    private long _dropped;

    private LinuxTun(SafeFileHandle tun, SafeFileHandle wake, string name, int index, VpnOffloads offloads, bool vnetHeader)
    {
        _tun = tun;
        _wake = wake;
        Name = name;
        InterfaceIndex = index;
        _offloads = offloads;
        _vnetHeader = vnetHeader;
        Mtu = 1500;
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>The kernel's interface index (for netlink).</summary>
    internal int InterfaceIndex { get; }

    /// <inheritdoc />
    public int Mtu { get; internal set; }

    /// <inheritdoc />
    public VpnOffloads Offloads => _offloads;

    /// <summary>Packets dropped: malformed reads, refused writes.</summary>
    internal long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>
    /// Opens (creating if needed) the TUN interface <paramref name="name"/> ("" lets the kernel choose tunN)
    /// with the TUN offloads of <paramref name="requested"/> that the kernel accepts. Needs CAP_NET_ADMIN.
    /// </summary>
    internal static LinuxTun Create(string name, VpnOffloads requested)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (Encoding.UTF8.GetByteCount(name) >= IfNameSize || name.Contains('/') || name.Any(char.IsWhiteSpace))
        {
            throw new ArgumentException($"'{name}' is not a valid interface name (at most 15 bytes, no '/' or spaces).", nameof(name));
        }
        int fd = LibC.open("/dev/net/tun", LibC.ORdWr | LibC.OCloExec);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new PeerException(PeerError.InternalError, $"Cannot open /dev/net/tun: {LibC.ErrorName(errno)}{OpenHint(errno)}.");
        }
        var tun = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            bool wantVnet = (requested & (VpnOffloads.TunChecksum | VpnOffloads.TunTcpSegmentation | VpnOffloads.TunUdpSegmentation)) != 0;
            uint features = 0;
            _ = LibC.ioctl_ptr(fd, TunGetFeatures, &features);
            bool vnet = wantVnet && (features & (uint)IffVnetHdr) != 0;
            byte* ifr = stackalloc byte[IfReqSize];
            new Span<byte>(ifr, IfReqSize).Clear();
            Encoding.UTF8.GetBytes(name, new Span<byte>(ifr, IfNameSize - 1));
            *(short*)(ifr + IfNameSize) = (short)(IffTun | IffNoPi | (vnet ? IffVnetHdr : 0));
            if (LibC.ioctl_ptr(fd, TunSetIff, ifr) != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                throw new PeerException(PeerError.InternalError, $"TUNSETIFF {name}: {LibC.ErrorName(errno)}{errno switch
                {
                    LibC.EBusy => " (the interface exists and is in use, or is not a TUN)",
                    LibC.EPerm => " (creating a TUN interface needs root or CAP_NET_ADMIN)",
                    _ => "",
                }}.");
            }
            if (LibC.ioctl_ptr(fd, TunGetIff, ifr) != 0)
            {
                throw new PeerException(PeerError.InternalError, $"TUNGETIFF: {LibC.ErrorName(Marshal.GetLastPInvokeError())}.");
            }
            string actual = Marshal.PtrToStringUTF8((nint)ifr) ?? name;
            VpnOffloads offloads = vnet ? NegotiateOffloads(fd, requested) : VpnOffloads.None;
            if (LibC.fcntl(fd, LibC.FSetFl, LibC.fcntl(fd, LibC.FGetFl, 0) | LibC.ONonBlock) != 0)
            {
                throw new PeerException(PeerError.InternalError, $"fcntl(O_NONBLOCK) on the TUN: {LibC.ErrorName(Marshal.GetLastPInvokeError())}.");
            }
            int wake = LibC.eventfd(0, LibC.EfdCloExec | LibC.EfdNonBlock);
            if (wake < 0)
            {
                throw new PeerException(PeerError.InternalError, $"eventfd: {LibC.ErrorName(Marshal.GetLastPInvokeError())}.");
            }
            int index = (int)LibC.if_nametoindex(actual);
            return new LinuxTun(tun, new SafeFileHandle(wake, ownsHandle: true), actual, index, offloads, vnet);
        }
        catch
        {
            tun.Dispose();
            throw;
        }
    }

    // Asks for checksum + TSO (+ USO where the kernel has it); whatever is refused stays off.
    private static VpnOffloads NegotiateOffloads(int fd, VpnOffloads requested)
    {
        bool csum = (requested & VpnOffloads.TunChecksum) != 0;
        bool tso = csum && (requested & VpnOffloads.TunTcpSegmentation) != 0;
        bool uso = csum && (requested & VpnOffloads.TunUdpSegmentation) != 0;
        VpnOffloads rest = requested & (VpnOffloads.UdpSegmentation | VpnOffloads.UdpCoalescing);
        uint mask = (csum ? TunFCsum : 0) | (tso ? TunFTso4 | TunFTso6 : 0);
        if (uso && LibC.ioctl_value(fd, TunSetOffload, mask | TunFUso4 | TunFUso6) == 0)
        {
            return rest | VpnOffloads.TunChecksum | (tso ? VpnOffloads.TunTcpSegmentation : 0) | VpnOffloads.TunUdpSegmentation;
        }
        if (mask != 0 && LibC.ioctl_value(fd, TunSetOffload, mask) == 0)
        {
            return rest | (csum ? VpnOffloads.TunChecksum : 0) | (tso ? VpnOffloads.TunTcpSegmentation : 0);
        }
        _ = LibC.ioctl_value(fd, TunSetOffload, 0);
        return rest;
    }

    /// <summary>
    /// Start-up probe of coalesced writes (Tailscale's probeTCPGRO, for kernels whose virtio-net header
    /// parsing refuses them, tailscale#13041): writes a two-segment TCP super-packet from and to 127.0.0.1
    /// with TTL 0, which the kernel drops as a martian after parsing its header. EINVAL turns GRO off.
    /// Call once the interface is up (writes to a down TUN fail with EIO). Returns the error, or null.
    /// </summary>
    internal string? ProbeCoalescedWrites()
    {
        if (!_vnetHeader || (Offloads & (VpnOffloads.TunTcpSegmentation | VpnOffloads.TunUdpSegmentation)) == 0)
        {
            return null;
        }
        byte[] probe = Packets.ProbePackets.CoalescedTcp();
        var header = new VirtioNetHeader
        {
            Flags = VirtioNetHeader.FlagNeedsChecksum,
            GsoType = VirtioNetHeader.GsoTcpV4,
            HeaderLength = 40,
            GsoSize = (ushort)((probe.Length - 40) / 2),
            ChecksumStart = 20,
            ChecksumOffset = 16,
        };
        byte* h = stackalloc byte[VirtioNetHeader.Size];
        header.Write(new Span<byte>(h, VirtioNetHeader.Size));
        fixed (byte* p = probe)
        {
            IoVec* iov = stackalloc IoVec[2];
            iov[0] = new IoVec { Base = h, Length = VirtioNetHeader.Size };
            iov[1] = new IoVec { Base = p, Length = (nuint)probe.Length };
            int errno = WriteV(iov, 2);
            if (errno == LibC.EInval)
            {
                DisableCoalescing();
                return $"a coalesced TCP write was refused ({LibC.ErrorName(errno)}): TUN TCP and UDP coalescing are off";
            }
            return errno == 0 ? null : $"the probe write failed: {LibC.ErrorName(errno)}";
        }
    }

    /// <summary>Turns coalesced writes off for good (reads keep their offloads).</summary>
    internal void DisableCoalescing()
    {
        _coalesceOff = true;
    }

    private volatile bool _coalesceOff;

    /// <summary>True once a coalesced write was refused (or the probe failed): writes go one by one.</summary>
    internal bool CoalescingDisabled => _coalesceOff;

    /// <inheritdoc />
    public int Read(Span<PacketRef> packets)
    {
        if (packets.IsEmpty)
        {
            return 0;
        }
        bool added = false;
        bool wakeAdded = false;
        try
        {
            _tun.DangerousAddRef(ref added);
            _wake.DangerousAddRef(ref wakeAdded);
            int fd = (int)_tun.DangerousGetHandle();
            int produced = 0;
            while (true)
            {
                if (_pendingLength > 0)
                {
                    OffloadStatus status = GsoSplitter.Split(_readBuffer.AsSpan(VirtioNetHeader.Size, _pendingLength), _pendingHeader, ref _pendingNext, packets[produced..], out int n, out _);
                    produced += n;
                    if (status == OffloadStatus.TooManySegments)
                    {
                        return produced;
                    }
                    if (status == OffloadStatus.Invalid)
                    {
                        Interlocked.Increment(ref _dropped);
                    }
                    _pendingLength = 0;
                }
                if (produced == packets.Length)
                {
                    return produced;
                }
                nint read;
                if (_vnetHeader)
                {
                    fixed (byte* b = _readBuffer)
                    {
                        read = LibC.read(fd, b, ReadBufferSize);
                    }
                }
                else
                {
                    ref PacketRef target = ref packets[produced];
                    fixed (byte* b = &target.Buffer[target.Offset])
                    {
                        read = LibC.read(fd, b, target.Capacity);
                    }
                }
                if (read < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == LibC.EAgain)
                    {
                        if (produced > 0)
                        {
                            return produced;
                        }
                        if (!WaitReadable(fd))
                        {
                            return 0;
                        }
                        continue;
                    }
                    if (errno == LibC.EIntr)
                    {
                        continue;
                    }
                    if (errno is LibC.EBadFd or LibC.EBadF)
                    {
                        return produced;
                    }
                    throw new PeerException(PeerError.InternalError, $"read from TUN {Name}: {LibC.ErrorName(errno)}.");
                }
                if (!_vnetHeader)
                {
                    packets[produced].Length = (int)read;
                    produced++;
                    continue;
                }
                if (read <= VirtioNetHeader.Size)
                {
                    Interlocked.Increment(ref _dropped);
                    continue;
                }
                _pendingHeader = VirtioNetHeader.Read(_readBuffer);
                _pendingLength = (int)read - VirtioNetHeader.Size;
                _pendingNext = 0;
            }
        }
        catch (ObjectDisposedException)
        {
            return 0;
        }
        finally
        {
            if (added)
            {
                _tun.DangerousRelease();
            }
            if (wakeAdded)
            {
                _wake.DangerousRelease();
            }
        }
    }

    // Waits for the TUN to become readable; false when woken to close.
    private bool WaitReadable(int fd)
    {
        PollFd* fds = stackalloc PollFd[2];
        fds[0] = new PollFd { Fd = fd, Events = LibC.PollIn };
        fds[1] = new PollFd { Fd = (int)_wake.DangerousGetHandle(), Events = LibC.PollIn };
        while (true)
        {
            if (_closing)
            {
                return false;
            }
            int r = LibC.poll(fds, 2, -1);
            if (r < 0 && Marshal.GetLastPInvokeError() == LibC.EIntr)
            {
                continue;
            }
            if (r < 0)
            {
                throw new PeerException(PeerError.InternalError, $"poll on TUN {Name}: {LibC.ErrorName(Marshal.GetLastPInvokeError())}.");
            }
            if (fds[1].Revents != 0 || _closing)
            {
                return false;
            }
            if ((fds[0].Revents & (LibC.PollErr | LibC.PollHup)) != 0 && (fds[0].Revents & LibC.PollIn) == 0)
            {
                return false;
            }
            return true;
        }
    }

    private volatile bool _closing;

    /// <inheritdoc />
    public int Write(ReadOnlySpan<PacketRef> packets)
    {
        if (packets.IsEmpty)
        {
            return 0;
        }
        bool added = false;
        try
        {
            _tun.DangerousAddRef(ref added);
            VpnOffloads offloads = Offloads;
            bool tcp = !_coalesceOff && (offloads & VpnOffloads.TunTcpSegmentation) != 0;
            bool udp = !_coalesceOff && (offloads & VpnOffloads.TunUdpSegmentation) != 0;
            int refused = 0;
            if (!_vnetHeader)
            {
                int fd = (int)_tun.DangerousGetHandle();
                foreach (ref readonly PacketRef packet in packets)
                {
                    fixed (byte* p = &packet.Buffer[packet.Offset])
                    {
                        if (LibC.write(fd, p, packet.Length) < 0)
                        {
                            refused++;
                        }
                    }
                }
                Interlocked.Add(ref _dropped, refused);
                return refused;
            }
            if (!tcp && !udp)
            {
                foreach (ref readonly PacketRef packet in packets)
                {
                    refused += WriteOne(packet.Buffer, packet.Offset, packet.Length, default) == 0 ? 0 : 1;
                }
                Interlocked.Add(ref _dropped, refused);
                return refused;
            }
            _gro.Coalesce(packets, tcp, udp);
            for (int g = 0; g < _gro.GroupCount; g++)
            {
                refused += WriteGroup(packets, g);
            }
            Interlocked.Add(ref _dropped, refused);
            return refused;
        }
        catch (ObjectDisposedException)
        {
            return packets.Length;
        }
        finally
        {
            if (added)
            {
                _tun.DangerousRelease();
            }
        }
    }

    private int WriteGroup(ReadOnlySpan<PacketRef> packets, int group)
    {
        int head = _gro.Head(group);
        VirtioNetHeader header = _gro.Header(group);
        if (_gro.Segments(group) == 1)
        {
            return WriteOne(packets[head].Buffer, packets[head].Offset, packets[head].Length, header) == 0 ? 0 : 1;
        }
        int headers = _gro.HeadersLength(group);
        int count = 0;
        fixed (byte* h = _headerScratch)
        {
            header.Write(new Span<byte>(h, VirtioNetHeader.Size));
            if (_iov.Length < _gro.Segments(group) + 1)
            {
                _iov = new IoVec[_gro.Segments(group) + 1];
            }
            fixed (IoVec* iov = _iov)
            {
                iov[count++] = new IoVec { Base = h, Length = VirtioNetHeader.Size };
                for (int p = head; p >= 0; p = _gro.Next(p))
                {
                    int skip = p == head ? 0 : headers;
                    ref readonly PacketRef packet = ref packets[p];
                    // Data-plane buffers live on the pinned object heap, so their addresses are stable.
                    iov[count++] = new IoVec
                    {
                        Base = (byte*)Marshal.UnsafeAddrOfPinnedArrayElement(packet.Buffer, packet.Offset + skip),
                        Length = (nuint)(packet.Length - skip),
                    };
                }
                int errno = WriteV(iov, count);
                if (errno == 0)
                {
                    return 0;
                }
                if (errno != LibC.EInval)
                {
                    return _gro.Segments(group);
                }
            }
        }
        // The kernel refused a coalesced write (a virtio-net regression): never coalesce again, and
        // send this group's packets one by one, re-split from the coalesced bytes.
        DisableCoalescing();
        int length = _gro.CopyGroup(packets, group, _fallback);
        return WriteSplit(_fallback.AsSpan(0, length), header);
    }

    private int WriteSplit(Span<byte> coalesced, VirtioNetHeader header)
    {
        var slot = GC.AllocateUninitializedArray<byte>(65535, pinned: true);
        Span<PacketRef> one = [new PacketRef(slot, 0, 0)];
        int next = 0;
        int refused = 0;
        while (true)
        {
            OffloadStatus status = GsoSplitter.Split(coalesced, header, ref next, one, out int produced, out _);
            if (produced == 1)
            {
                refused += WriteOne(slot, 0, one[0].Length, default) == 0 ? 0 : 1;
            }
            if (status != OffloadStatus.TooManySegments)
            {
                return refused + (status == OffloadStatus.Invalid ? 1 : 0);
            }
        }
    }

    private int WriteOne(byte[] buffer, int offset, int length, VirtioNetHeader header)
    {
        fixed (byte* h = _headerScratch)
        fixed (byte* p = &buffer[offset])
        {
            Span<byte> hs = new(h + VirtioNetHeader.Size, VirtioNetHeader.Size);
            header.Write(hs);
            IoVec* iov = stackalloc IoVec[2];
            iov[0] = new IoVec { Base = h + VirtioNetHeader.Size, Length = VirtioNetHeader.Size };
            iov[1] = new IoVec { Base = p, Length = (nuint)length };
            return WriteV(iov, 2);
        }
    }

    private int WriteV(IoVec* iov, int count)
    {
        int fd = (int)_tun.DangerousGetHandle();
        while (true)
        {
            if (LibC.writev(fd, iov, count) >= 0)
            {
                return 0;
            }
            int errno = Marshal.GetLastPInvokeError();
            if (errno != LibC.EIntr)
            {
                return errno;
            }
        }
    }

    /// <summary>Wakes a blocked <see cref="Read"/> and closes the device once no call is using it.</summary>
    public void Dispose()
    {
        if (_closing)
        {
            return;
        }
        _closing = true;
        ulong one = 1;
        bool added = false;
        try
        {
            _wake.DangerousAddRef(ref added);
            _ = LibC.write((int)_wake.DangerousGetHandle(), (byte*)&one, sizeof(ulong));
        }
        finally
        {
            if (added)
            {
                _wake.DangerousRelease();
            }
        }
        _tun.Dispose();
        _wake.Dispose();
    }

    // The two ways a machine lacks a usable TUN: no device node (containers, no tun module) or no privilege.
    private static string OpenHint(int errno) => errno switch
    {
        LibC.ENoEnt or LibC.ENoDev => " (no TUN device: load the tun module, or give the container /dev/net/tun)",
        LibC.EPerm or 13 => " (needs root or CAP_NET_ADMIN)",
        _ => "",
    };
}
