using System.Runtime.InteropServices;

namespace Pinhole.Vpn.Native;

/// <summary>
/// The libc calls of the VPN: file descriptors we own (TUN, UDP, netlink, eventfd), ioctl, poll and the
/// batched socket calls .NET does not offer (recvmmsg/sendmmsg with control messages). Linux LP64 only;
/// every struct below has the x86_64/arm64 layout. Errors come back as -1 with errno in
/// <see cref="Marshal.GetLastPInvokeError"/>.
/// </summary>
internal static unsafe partial class LibC
{
    private const string Name = "libc";

    // fcntl.h, errno.h
    internal const int ORdWr = 0x2;
    internal const int ONonBlock = 0x800;
    internal const int OCloExec = 0x80000;
    internal const int FGetFl = 3;
    internal const int FSetFl = 4;
    internal const int EIntr = 4;
    internal const int EIO = 5;
    internal const int EBadF = 9;
    internal const int EAgain = 11;
    internal const int ENoMem = 12;
    internal const int EBusy = 16;
    internal const int EExist = 17;
    internal const int ENoDev = 19;
    internal const int EInval = 22;
    internal const int EMsgSize = 90;
    internal const int ENoProtoOpt = 92;
    internal const int EOpNotSupp = 95;
    internal const int ENoBufs = 105;
    internal const int EBadFd = 77;
    internal const int EHostUnreach = 113;
    internal const int ENetUnreach = 101;
    internal const int EConnRefused = 111;
    internal const int EPerm = 1;
    internal const int ENoEnt = 2;
    internal const int ESrch = 3;

    // poll.h
    internal const short PollIn = 0x1;
    internal const short PollErr = 0x8;
    internal const short PollHup = 0x10;

    // sys/eventfd.h
    internal const int EfdCloExec = 0x80000;
    internal const int EfdNonBlock = 0x800;

    // sys/socket.h, netinet/in.h
    internal const int AfInet = 2;
    internal const int AfInet6 = 10;
    internal const int AfNetlink = 16;
    internal const int SockDgram = 2;
    internal const int SockRaw = 3;
    internal const int SockCloExec = 0x80000;
    internal const int SockNonBlock = 0x800;
    internal const int SolSocket = 1;
    internal const int SoRcvBuf = 8;
    internal const int SoSndBuf = 7;
    internal const int SoRcvBufForce = 33;
    internal const int SoSndBufForce = 32;
    internal const int SoMark = 36;
    internal const int SoReuseAddr = 2;
    internal const int IpProtoIp = 0;
    internal const int IpProtoIpv6 = 41;
    internal const int IpProtoUdp = 17;
    internal const int IpProtoTcp = 6;
    internal const int IpProtoIcmp = 1;
    internal const int IpProtoIcmpv6 = 58;
    internal const int IpMtuDiscover = 10;
    internal const int IpRecvErr = 11;
    internal const int IpPmtuDiscDont = 0;
    internal const int IpPmtuDiscDo = 2;
    internal const int IpPmtuDiscProbe = 3;
    internal const int Ipv6MtuDiscover = 23;
    internal const int Ipv6V6Only = 26;
    internal const int SolUdp = 17;
    internal const int UdpSegment = 103;
    internal const int UdpGro = 104;
    internal const int MsgDontWait = 0x40;
    internal const int MsgTrunc = 0x20;
    internal const int MsgCTrunc = 0x8;
    internal const int ShutRdWr = 2;

    [LibraryImport(Name, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int open(string path, int flags);

    [LibraryImport(Name, SetLastError = true)]
    internal static partial int close(int fd);

    [LibraryImport(Name, SetLastError = true)]
    internal static partial nint read(int fd, byte* buffer, nint count);

    [LibraryImport(Name, SetLastError = true)]
    internal static partial nint write(int fd, byte* buffer, nint count);

    [LibraryImport(Name, SetLastError = true)]
    internal static partial nint writev(int fd, IoVec* iov, int count);

    /// <summary>ioctl with a pointer argument (TUNSETIFF, SIOCGIFMTU, ...).</summary>
    [LibraryImport(Name, EntryPoint = "ioctl", SetLastError = true)]
    internal static partial int ioctl_ptr(int fd, nuint request, void* argument);

    /// <summary>ioctl with an integer argument passed by value (TUNSETOFFLOAD takes its mask this way).</summary>
    [LibraryImport(Name, EntryPoint = "ioctl", SetLastError = true)]
    internal static partial int ioctl_value(int fd, nuint request, nuint argument);

    [LibraryImport(Name, SetLastError = true)]
    internal static partial int fcntl(int fd, int command, int argument);

    [LibraryImport(Name, SetLastError = true)]
    internal static partial int poll(PollFd* fds, nuint count, int timeoutMilliseconds);

    [LibraryImport(Name, SetLastError = true)]
    internal static partial int eventfd(uint initial, int flags);

    [LibraryImport(Name, SetLastError = true)]
    internal static partial int socket(int domain, int type, int protocol);

    [LibraryImport(Name, SetLastError = true)]
    internal static partial int bind(int fd, byte* address, int length);

    [LibraryImport(Name, SetLastError = true)]
    internal static partial int getsockname(int fd, byte* address, int* length);

    [LibraryImport(Name, SetLastError = true)]
    internal static partial int setsockopt(int fd, int level, int name, void* value, int length);

    [LibraryImport(Name, SetLastError = true)]
    internal static partial int getsockopt(int fd, int level, int name, void* value, int* length);

    [LibraryImport(Name, SetLastError = true)]
    internal static partial nint sendto(int fd, byte* buffer, nint length, int flags, byte* address, int addressLength);

    [LibraryImport(Name, SetLastError = true)]
    internal static partial nint recv(int fd, byte* buffer, nint length, int flags);

    [LibraryImport(Name, SetLastError = true)]
    internal static partial int sendmmsg(int fd, MMsgHdr* messages, uint count, int flags);

    [LibraryImport(Name, SetLastError = true)]
    internal static partial int recvmmsg(int fd, MMsgHdr* messages, uint count, int flags, void* timeout);

    [LibraryImport(Name, SetLastError = true)]
    internal static partial int shutdown(int fd, int how);

    [LibraryImport(Name, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial uint if_nametoindex(string name);

    /// <summary>Sets one int socket option; returns errno or 0.</summary>
    internal static int SetInt(int fd, int level, int name, int value)
        => setsockopt(fd, level, name, &value, sizeof(int)) == 0 ? 0 : Marshal.GetLastPInvokeError();

    /// <summary>Reads one int socket option; returns errno or 0.</summary>
    internal static int GetInt(int fd, int level, int name, out int value)
    {
        int v = 0;
        int length = sizeof(int);
        int result = getsockopt(fd, level, name, &v, &length);
        value = v;
        return result == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    /// <summary>Text for an errno value, e.g. "EINVAL (22)".</summary>
    internal static string ErrorName(int errno) => errno switch
    {
        EPerm => "EPERM (1)",
        ENoEnt => "ENOENT (2)",
        EIO => "EIO (5)",
        EBadF => "EBADF (9)",
        EAgain => "EAGAIN (11)",
        ENoMem => "ENOMEM (12)",
        EBusy => "EBUSY (16)",
        EExist => "EEXIST (17)",
        ENoDev => "ENODEV (19)",
        EInval => "EINVAL (22)",
        EMsgSize => "EMSGSIZE (90)",
        ENoProtoOpt => "ENOPROTOOPT (92)",
        EOpNotSupp => "EOPNOTSUPP (95)",
        ENoBufs => "ENOBUFS (105)",
        ENetUnreach => "ENETUNREACH (101)",
        EHostUnreach => "EHOSTUNREACH (113)",
        _ => $"errno {errno}",
    };
}

[StructLayout(LayoutKind.Sequential)]
internal struct PollFd
{
    public int Fd;
    public short Events;
    public short Revents;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct IoVec
{
    public void* Base;
    public nuint Length;
}

/// <summary>struct msghdr (56 bytes on LP64).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct MsgHdr
{
    public void* Name;
    public uint NameLength;
    public IoVec* Iov;
    public nuint IovLength;
    public void* Control;
    public nuint ControlLength;
    public int Flags;
}

/// <summary>struct mmsghdr: a message and the byte count the kernel filled in (64 bytes on LP64).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct MMsgHdr
{
    public MsgHdr Header;
    public uint Length;
}

/// <summary>struct cmsghdr (16 bytes on LP64); data follows, 8-byte aligned.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct CMsgHdr
{
    public nuint Length;
    public int Level;
    public int Type;
}
