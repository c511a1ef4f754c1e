using System.Collections.Concurrent;
using System.Net;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Pinhole.Vpn.Native;
using Pinhole.Vpn.Offload;

namespace Pinhole.Vpn.DataPlane;

/// <summary>
/// A dual-stack UDP socket the data plane owns (created with socket(2), never a .NET Socket, whose fd
/// turns O_NONBLOCK for good after async use): recvmmsg with UDP_GRO (one receive returns up to 64
/// datagrams of one sender as one buffer, split here by the segment size in the control message),
/// sendmmsg with UDP_SEGMENT (a run of equal-sized datagrams to one peer as one message, gathered from
/// the records' own buffers), 7 MiB socket buffers (SO_*BUFFORCE when root), an optional SO_MARK.
/// </summary>
internal sealed unsafe class UdpTransport : IPacketTransport
{
    internal const int BufferBytes = 7 << 20;
    private const int Messages = 32;
    private const int MessageBuffer = 65536;
    private const int ControlSpace = 32;
    private const int MaxSegments = 64;
    private const int MaxGsoBytes = 65000;
    private const int MaxSendMessages = 256;
    private const int MaxCachedAddresses = 4096;

    private readonly SafeFileHandle _socket;
    private readonly SafeFileHandle _wake;
    private readonly byte[] _receive = GC.AllocateArray<byte>(Messages * MessageBuffer, pinned: true);
    private readonly MMsgHdr* _recvMessages;
    private readonly IoVec* _recvIov;
    private readonly byte* _recvNames;
    private readonly byte* _recvControl;
    private readonly MMsgHdr* _sendMessages;
    private readonly IoVec* _sendIov;
    private readonly byte* _sendControl;
    private readonly ConcurrentDictionary<(UInt128, ushort), UdpAddress> _addresses = new();
    private volatile bool _gso;
    private readonly bool _gro;
    private volatile bool _closing;
    private long _sendErrors;

    private UdpTransport(SafeFileHandle socket, SafeFileHandle wake, IPEndPoint local, bool gso, bool gro)
    {
        _socket = socket;
        _wake = wake;
        LocalEndPoint = local;
        _gso = gso;
        _gro = gro;
        _recvMessages = (MMsgHdr*)NativeMemory.AllocZeroed((nuint)(Messages * sizeof(MMsgHdr)));
        _recvIov = (IoVec*)NativeMemory.AllocZeroed((nuint)(Messages * sizeof(IoVec)));
        _recvNames = (byte*)NativeMemory.AllocZeroed((nuint)(Messages * UdpAddress.SockAddrLength));
        _recvControl = (byte*)NativeMemory.AllocZeroed((nuint)(Messages * ControlSpace));
        _sendMessages = (MMsgHdr*)NativeMemory.AllocZeroed((nuint)(MaxSendMessages * sizeof(MMsgHdr)));
        _sendIov = (IoVec*)NativeMemory.AllocZeroed((nuint)(MaxSendMessages * sizeof(IoVec)));
        _sendControl = (byte*)NativeMemory.AllocZeroed((nuint)(MaxSendMessages * ControlSpace));
    }

    /// <inheritdoc />
    public IPEndPoint LocalEndPoint { get; }

    /// <inheritdoc />
    public VpnOffloads Offloads => (_gso ? VpnOffloads.UdpSegmentation : 0) | (_gro ? VpnOffloads.UdpCoalescing : 0);

    /// <inheritdoc />
    public int MaxReceiveBatch => Messages * MaxSegments;

    /// <summary>Datagrams the kernel refused to send (unreachable, too big, filtered).</summary>
    internal long SendErrors => Interlocked.Read(ref _sendErrors);

    /// <summary>Effective socket buffer sizes (for the status and tests).</summary>
    internal (int Receive, int Send) BufferSizes
    {
        get
        {
            int fd = (int)_socket.DangerousGetHandle();
            LibC.GetInt(fd, LibC.SolSocket, LibC.SoRcvBuf, out int r);
            LibC.GetInt(fd, LibC.SolSocket, LibC.SoSndBuf, out int s);
            return (r, s);
        }
    }

    /// <summary>
    /// Binds a dual-stack socket at <paramref name="bind"/> (an IPv6 address or :: for both families, or an
    /// IPv4 address). Offloads in <paramref name="requested"/> are used where the kernel has them.
    /// </summary>
    internal static UdpTransport Create(IPEndPoint bind, VpnOffloads requested, uint? fwmark)
    {
        ArgumentNullException.ThrowIfNull(bind);
        int fd = LibC.socket(LibC.AfInet6, LibC.SockDgram | LibC.SockNonBlock | LibC.SockCloExec, 0);
        if (fd < 0)
        {
            throw new PeerException(PeerError.InternalError, $"socket(AF_INET6, SOCK_DGRAM): {LibC.ErrorName(Marshal.GetLastPInvokeError())}.");
        }
        var socket = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            _ = LibC.SetInt(fd, LibC.IpProtoIpv6, LibC.Ipv6V6Only, 0);
            // Large buffers absorb bursts at line rate (wireguard-go f26efb6: retransmits 2742 → 0);
            // FORCE goes past net.core.*mem_max when we have CAP_NET_ADMIN.
            if (LibC.SetInt(fd, LibC.SolSocket, LibC.SoRcvBufForce, BufferBytes) != 0)
            {
                _ = LibC.SetInt(fd, LibC.SolSocket, LibC.SoRcvBuf, BufferBytes);
            }
            if (LibC.SetInt(fd, LibC.SolSocket, LibC.SoSndBufForce, BufferBytes) != 0)
            {
                _ = LibC.SetInt(fd, LibC.SolSocket, LibC.SoSndBuf, BufferBytes);
            }
            if (fwmark is { } mark && LibC.SetInt(fd, LibC.SolSocket, LibC.SoMark, (int)mark) is int markError and not 0)
            {
                throw new PeerException(PeerError.InternalError, $"SO_MARK {mark}: {LibC.ErrorName(markError)} (needs CAP_NET_ADMIN).");
            }
            // DF on, but the kernel's cached path MTU is not applied to us: path MTU is probed in band.
            _ = LibC.SetInt(fd, LibC.IpProtoIp, LibC.IpMtuDiscover, LibC.IpPmtuDiscProbe);
            _ = LibC.SetInt(fd, LibC.IpProtoIpv6, LibC.Ipv6MtuDiscover, LibC.IpPmtuDiscProbe);
            bool gso = (requested & VpnOffloads.UdpSegmentation) != 0 && LibC.GetInt(fd, LibC.SolUdp, LibC.UdpSegment, out _) == 0;
            bool gro = (requested & VpnOffloads.UdpCoalescing) != 0 && LibC.SetInt(fd, LibC.SolUdp, LibC.UdpGro, 1) == 0;

            byte[] address = UdpAddress.Create(bind).SockAddr;
            fixed (byte* a = address)
            {
                if (LibC.bind(fd, a, UdpAddress.SockAddrLength) != 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    throw new PeerException(errno == 98 ? PeerError.Refused : PeerError.InternalError, $"bind {bind}: {(errno == 98 ? "EADDRINUSE (98)" : LibC.ErrorName(errno))}.");
                }
            }
            byte* name = stackalloc byte[UdpAddress.SockAddrLength];
            int length = UdpAddress.SockAddrLength;
            _ = LibC.getsockname(fd, name, &length);
            var local = UdpAddress.ReadSockAddr(new ReadOnlySpan<byte>(name, UdpAddress.SockAddrLength)) is { } l
                ? UdpAddress.Create(l.Address, l.Port).EndPoint
                : bind;
            int wake = LibC.eventfd(0, LibC.EfdCloExec | LibC.EfdNonBlock);
            if (wake < 0)
            {
                throw new PeerException(PeerError.InternalError, $"eventfd: {LibC.ErrorName(Marshal.GetLastPInvokeError())}.");
            }
            return new UdpTransport(socket, new SafeFileHandle(wake, ownsHandle: true), local, gso, gro);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public UdpAddress Resolve(IPEndPoint endPoint)
    {
        UdpAddress created = UdpAddress.Create(endPoint);
        return Intern(created.Address, created.Port, created);
    }

    private UdpAddress Intern(UInt128 address, ushort port, UdpAddress? made = null)
    {
        if (_addresses.TryGetValue((address, port), out UdpAddress? known))
        {
            return known;
        }
        if (_addresses.Count >= MaxCachedAddresses)
        {
            _addresses.Clear(); // bounded: spoofed sources must not grow it
        }
        return _addresses.GetOrAdd((address, port), made ?? UdpAddress.Create(address, port));
    }

    /// <inheritdoc />
    public int Receive(Span<ReceivedDatagram> datagrams)
    {
        if (!Enter())
        {
            return -1;
        }
        bool socketAdded = false, wakeAdded = false;
        try
        {
            _socket.DangerousAddRef(ref socketAdded);
            _wake.DangerousAddRef(ref wakeAdded);
            int fd = (int)_socket.DangerousGetHandle();
            int messages = Math.Min(Messages, Math.Max(1, datagrams.Length / (_gro ? MaxSegments : 1)));
            fixed (byte* buffer = _receive)
            {
                for (int i = 0; i < messages; i++)
                {
                    _recvIov[i] = new IoVec { Base = buffer + i * MessageBuffer, Length = MessageBuffer };
                    ref MsgHdr h = ref _recvMessages[i].Header;
                    h.Name = _recvNames + i * UdpAddress.SockAddrLength;
                    h.NameLength = UdpAddress.SockAddrLength;
                    h.Iov = _recvIov + i;
                    h.IovLength = 1;
                    h.Control = _recvControl + i * ControlSpace;
                    h.ControlLength = ControlSpace;
                    h.Flags = 0;
                    _recvMessages[i].Length = 0;
                }
                while (true)
                {
                    if (_closing)
                    {
                        return -1;
                    }
                    int n = LibC.recvmmsg(fd, _recvMessages, (uint)messages, LibC.MsgDontWait, null);
                    if (n > 0)
                    {
                        return Split(n, datagrams);
                    }
                    int errno = n < 0 ? Marshal.GetLastPInvokeError() : LibC.EAgain;
                    if (errno == LibC.EIntr)
                    {
                        continue;
                    }
                    if (errno != LibC.EAgain)
                    {
                        // ICMP errors surface as ECONNREFUSED etc. on an unconnected socket: not fatal.
                        if (errno is LibC.EConnRefused or LibC.EHostUnreach or LibC.ENetUnreach or LibC.EMsgSize)
                        {
                            continue;
                        }
                        throw new PeerException(PeerError.InternalError, $"recvmmsg: {LibC.ErrorName(errno)}.");
                    }
                    // 0: Wake() (relayed datagrams queued, held records to retry): the caller looks at them now.
                    // 1: the socket is readable: read it. (Until this fix a wake was swallowed and the loop slept on.)
                    int woken = Wait(fd, LibC.PollIn, -1);
                    if (woken <= 0)
                    {
                        return woken;
                    }
                }
            }
        }
        catch (ObjectDisposedException)
        {
            return -1;
        }
        finally
        {
            if (socketAdded)
            {
                _socket.DangerousRelease();
            }
            if (wakeAdded)
            {
                _wake.DangerousRelease();
            }
            Exit();
        }
    }

    // Cuts each message into its datagrams: one unless UDP_GRO coalesced several (equal sizes, last shorter).
    private int Split(int messages, Span<ReceivedDatagram> datagrams)
    {
        int count = 0;
        for (int i = 0; i < messages && count < datagrams.Length; i++)
        {
            ref MMsgHdr m = ref _recvMessages[i];
            int length = (int)m.Length;
            if ((m.Header.Flags & LibC.MsgTrunc) != 0 || length == 0)
            {
                continue;
            }
            var source = UdpAddress.ReadSockAddr(new ReadOnlySpan<byte>(m.Header.Name, UdpAddress.SockAddrLength));
            if (source is null)
            {
                continue;
            }
            UdpAddress from = Intern(source.Value.Address, source.Value.Port);
            int segment = GroSegmentSize(m.Header);
            if (segment <= 0 || segment > length)
            {
                segment = length;
            }
            int offset = i * MessageBuffer;
            for (int at = 0; at < length && count < datagrams.Length; at += segment)
            {
                datagrams[count++] = new ReceivedDatagram
                {
                    Packet = new PacketRef(_receive, offset + at, Math.Min(segment, length - at)),
                    Source = from,
                };
            }
        }
        return count;
    }

    private static int GroSegmentSize(in MsgHdr header)
    {
        // Control messages: cmsghdr (16 bytes) + data, each padded to 8.
        byte* control = (byte*)header.Control;
        nuint length = header.ControlLength;
        nuint at = 0;
        while (at + (nuint)sizeof(CMsgHdr) <= length)
        {
            CMsgHdr* c = (CMsgHdr*)(control + at);
            if (c->Length < (nuint)sizeof(CMsgHdr) || at + c->Length > length)
            {
                return 0;
            }
            if (c->Level == LibC.SolUdp && c->Type == LibC.UdpGro && c->Length >= (nuint)sizeof(CMsgHdr) + 2)
            {
                // The kernel writes an int; its low 16 bits are the segment size.
                return *(ushort*)(control + at + sizeof(CMsgHdr));
            }
            at += (c->Length + 7) & ~(nuint)7;
        }
        return 0;
    }

    // 1 = readable/writable, 0 = woken, -1 = closing; poll errors are thrown.
    private int Wait(int fd, short events, int timeoutMilliseconds)
    {
        PollFd* fds = stackalloc PollFd[2];
        fds[0] = new PollFd { Fd = fd, Events = events };
        fds[1] = new PollFd { Fd = (int)_wake.DangerousGetHandle(), Events = LibC.PollIn };
        while (true)
        {
            int r = LibC.poll(fds, 2, timeoutMilliseconds);
            if (r < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == LibC.EIntr)
                {
                    continue;
                }
                throw new PeerException(PeerError.InternalError, $"poll on the UDP socket: {LibC.ErrorName(errno)}.");
            }
            if (_closing)
            {
                return -1;
            }
            if (fds[1].Revents != 0)
            {
                ulong value;
                _ = LibC.read(fds[1].Fd, (byte*)&value, sizeof(ulong));
                return 0;
            }
            return r == 0 ? 2 : 1;
        }
    }

    /// <inheritdoc />
    public void Wake()
    {
        bool added = false;
        try
        {
            _wake.DangerousAddRef(ref added);
            ulong one = 1;
            _ = LibC.write((int)_wake.DangerousGetHandle(), (byte*)&one, sizeof(ulong));
        }
        catch (ObjectDisposedException)
        {
        }
        finally
        {
            if (added)
            {
                _wake.DangerousRelease();
            }
        }
    }

    /// <inheritdoc />
    public int Send(UdpAddress destination, ReadOnlySpan<PacketRef> datagrams)
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (!Enter())
        {
            return datagrams.Length;
        }
        bool added = false;
        try
        {
            _socket.DangerousAddRef(ref added);
            int fd = (int)_socket.DangerousGetHandle();
            int failed = 0;
            int start = 0;
            while (start < datagrams.Length)
            {
                int taken = Build(destination, datagrams[start..], out int messages);
                failed += SendMessages(fd, messages, datagrams.Slice(start, taken), destination);
                start += taken;
            }
            return failed;
        }
        catch (ObjectDisposedException)
        {
            return datagrams.Length;
        }
        finally
        {
            if (added)
            {
                _socket.DangerousRelease();
            }
            Exit();
        }
    }

    // Fills the send arrays: runs of equal-sized datagrams (a shorter last one ends a run) become one
    // message with UDP_SEGMENT; returns how many datagrams were placed.
    private int Build(UdpAddress destination, ReadOnlySpan<PacketRef> datagrams, out int messages)
    {
        messages = 0;
        int iov = 0;
        int i = 0;
        bool gso = _gso;
        fixed (byte* name = destination.SockAddr)
        {
            while (i < datagrams.Length && messages < MaxSendMessages && iov < MaxSendMessages)
            {
                int size = datagrams[i].Length;
                int first = iov;
                int total = 0;
                int segments = 0;
                while (i < datagrams.Length && iov < MaxSendMessages && segments < (gso ? MaxSegments : 1))
                {
                    int length = datagrams[i].Length;
                    if (segments > 0 && (length > size || total + length > MaxGsoBytes))
                    {
                        break;
                    }
                    ref readonly PacketRef d = ref datagrams[i];
                    _sendIov[iov++] = new IoVec { Base = (byte*)Marshal.UnsafeAddrOfPinnedArrayElement(d.Buffer, d.Offset), Length = (nuint)length };
                    total += length;
                    segments++;
                    i++;
                    if (length < size)
                    {
                        break; // a shorter datagram can only be the last of a run
                    }
                }
                ref MMsgHdr m = ref _sendMessages[messages];
                m.Length = 0;
                m.Header.Name = name; // the destination's array is kept alive by the caller for the send
                m.Header.NameLength = UdpAddress.SockAddrLength;
                m.Header.Iov = _sendIov + first;
                m.Header.IovLength = (nuint)segments;
                m.Header.Flags = 0;
                if (segments > 1)
                {
                    byte* c = _sendControl + messages * ControlSpace;
                    var cmsg = (CMsgHdr*)c;
                    cmsg->Length = (nuint)(sizeof(CMsgHdr) + 2);
                    cmsg->Level = LibC.SolUdp;
                    cmsg->Type = LibC.UdpSegment;
                    *(ushort*)(c + sizeof(CMsgHdr)) = (ushort)size;
                    m.Header.Control = c;
                    m.Header.ControlLength = 24; // CMSG_SPACE(sizeof(u16))
                }
                else
                {
                    m.Header.Control = null;
                    m.Header.ControlLength = 0;
                }
                messages++;
            }
        }
        return i;
    }

    private int SendMessages(int fd, int messages, ReadOnlySpan<PacketRef> datagrams, UdpAddress destination)
    {
        int failed = 0;
        int done = 0;
        fixed (byte* keep = destination.SockAddr)
        {
            while (done < messages)
            {
                int n = LibC.sendmmsg(fd, _sendMessages + done, (uint)(messages - done), 0);
                if (n > 0)
                {
                    done += n;
                    continue;
                }
                int errno = Marshal.GetLastPInvokeError();
                if (errno == LibC.EIntr)
                {
                    continue;
                }
                if (errno is LibC.EAgain or LibC.ENoBufs)
                {
                    // Back-pressure: wait (bounded) for room rather than drop a burst TCP would have to resend.
                    if (Wait(fd, 4 /* POLLOUT */, 1000) is 1)
                    {
                        continue;
                    }
                    if (_closing)
                    {
                        return failed + CountSegments(done, messages);
                    }
                }
                if (errno == LibC.EIO && _sendMessages[done].Header.IovLength > 1)
                {
                    // No tx checksum offload on the egress device: segmentation offload cannot work there.
                    _gso = false;
                    return failed + ResendSingly(fd, done, messages);
                }
                failed += (int)_sendMessages[done].Header.IovLength;
                Interlocked.Add(ref _sendErrors, (long)_sendMessages[done].Header.IovLength);
                done++;
            }
        }
        return failed;
    }

    private int CountSegments(int from, int to)
    {
        int count = 0;
        for (int i = from; i < to; i++)
        {
            count += (int)_sendMessages[i].Header.IovLength;
        }
        return count;
    }

    // The rest of a batch without UDP_SEGMENT: one sendto per datagram.
    private int ResendSingly(int fd, int from, int to)
    {
        int failed = 0;
        for (int i = from; i < to; i++)
        {
            ref MsgHdr h = ref _sendMessages[i].Header;
            for (nuint s = 0; s < h.IovLength; s++)
            {
                IoVec v = h.Iov[s];
                if (LibC.sendto(fd, (byte*)v.Base, (nint)v.Length, 0, (byte*)h.Name, UdpAddress.SockAddrLength) < 0)
                {
                    failed++;
                }
            }
        }
        Interlocked.Add(ref _sendErrors, failed);
        return failed;
    }

    /// <inheritdoc />
    public bool SendOne(UdpAddress destination, ReadOnlySpan<byte> datagram)
    {
        ArgumentNullException.ThrowIfNull(destination);
        bool added = false;
        try
        {
            _socket.DangerousAddRef(ref added);
            fixed (byte* d = datagram)
            fixed (byte* a = destination.SockAddr)
            {
                while (true)
                {
                    if (LibC.sendto((int)_socket.DangerousGetHandle(), d, datagram.Length, 0, a, UdpAddress.SockAddrLength) >= 0)
                    {
                        return true;
                    }
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno != LibC.EIntr)
                    {
                        Interlocked.Increment(ref _sendErrors);
                        return false;
                    }
                }
            }
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
        finally
        {
            if (added)
            {
                _socket.DangerousRelease();
            }
        }
    }

    // Callers of the native arrays; the last one out after Dispose frees them.
    private int _users;
    private int _freed;

    private bool Enter()
    {
        Interlocked.Increment(ref _users);
        if (_closing)
        {
            Exit();
            return false;
        }
        return true;
    }

    private void Exit()
    {
        if (Interlocked.Decrement(ref _users) == 0 && _closing)
        {
            FreeNative();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_closing)
        {
            return;
        }
        _closing = true;
        Wake();
        _socket.Dispose();
        _wake.Dispose();
        if (Volatile.Read(ref _users) == 0)
        {
            FreeNative();
        }
    }

    private void FreeNative()
    {
        if (Interlocked.Exchange(ref _freed, 1) != 0)
        {
            return;
        }
        NativeMemory.Free(_recvMessages);
        NativeMemory.Free(_recvIov);
        NativeMemory.Free(_recvNames);
        NativeMemory.Free(_recvControl);
        NativeMemory.Free(_sendMessages);
        NativeMemory.Free(_sendIov);
        NativeMemory.Free(_sendControl);
    }
}
