using System.Net;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Pinhole.Vpn.Native;

namespace Pinhole.Vpn.Tun;

/// <summary>
/// A NETLINK_ROUTE socket for configuring interfaces: state, MTU, addresses, routes and policy rules, each
/// request acknowledged (NLM_F_ACK) so a failure comes back with its errno. Requests are serialised; the
/// socket lives in the network namespace of the thread that opened it. (`ip` is used only by tests, to check.)
/// </summary>
internal sealed unsafe class RtNetlink : IDisposable
{
    private const int NetlinkRoute = 0;
    private readonly SafeFileHandle _socket;
    private readonly byte[] _request = new byte[512];
    private readonly byte[] _answer = new byte[65536];
    private readonly Lock _lock = new();
    private uint _seq = (uint)Environment.TickCount;

    private RtNetlink(SafeFileHandle socket) => _socket = socket;

    /// <summary>Opens a socket in the calling thread's network namespace.</summary>
    internal static RtNetlink Open()
    {
        int fd = LibC.socket(LibC.AfNetlink, LibC.SockRaw | LibC.SockCloExec, NetlinkRoute);
        if (fd < 0)
        {
            throw new PeerException(PeerError.InternalError, $"socket(AF_NETLINK): {LibC.ErrorName(Marshal.GetLastPInvokeError())}.");
        }
        var socket = new SafeFileHandle(fd, ownsHandle: true);
        // Answers to a blocked caller must not wait forever if the kernel never replies.
        long* timeout = stackalloc long[2];
        timeout[0] = 5;
        timeout[1] = 0;
        _ = LibC.setsockopt(fd, LibC.SolSocket, 20 /* SO_RCVTIMEO */, timeout, 16);
        return new RtNetlink(socket);
    }

    /// <summary>Sets the interface up or down and/or its MTU.</summary>
    internal void SetLink(int index, bool? up, int? mtu) =>
        Execute(b => NetlinkMessage.SetLink(b, _seq, index, up, mtu), $"set link {index}{(up is null ? "" : up.Value ? " up" : " down")}{(mtu is null ? "" : $" mtu {mtu}")}");

    /// <summary>Adds (or replaces) an address on the interface.</summary>
    internal void AddAddress(int index, IPAddress address, int prefixLength) =>
        Execute(b => NetlinkMessage.Address(b, _seq, true, index, address, prefixLength), $"add address {address}/{prefixLength} on {index}");

    /// <summary>Adds (or replaces) a route to <paramref name="prefix"/> out of the interface.</summary>
    internal void AddRoute(int index, IPNetwork prefix, uint table = 254, uint? metric = null) =>
        Execute(b => NetlinkMessage.Route(b, _seq, true, index, prefix, table, metric), $"add route {prefix} dev {index} table {table}");

    /// <summary>Deletes a route; a route already gone is fine.</summary>
    internal void DeleteRoute(int index, IPNetwork prefix, uint table = 254) =>
        Execute(b => NetlinkMessage.Route(b, _seq, false, index, prefix, table, null), $"delete route {prefix} table {table}", LibC.ESrch);

    /// <summary>Adds a policy rule (see <see cref="NetlinkMessage.Rule"/>); an existing identical rule is fine.</summary>
    internal void AddRule(bool v6, uint priority, uint table, uint? fwmark, bool suppressDefault) =>
        Execute(b => NetlinkMessage.Rule(b, _seq, true, v6, priority, table, fwmark, suppressDefault), $"add rule pref {priority} table {table}", LibC.EExist);

    /// <summary>Deletes a policy rule; a rule already gone is fine.</summary>
    internal void DeleteRule(bool v6, uint priority, uint table, uint? fwmark, bool suppressDefault) =>
        Execute(b => NetlinkMessage.Rule(b, _seq, false, v6, priority, table, fwmark, suppressDefault), $"delete rule pref {priority}", LibC.ENoEnt);

    /// <summary>The MTU of interface <paramref name="index"/>.</summary>
    internal int GetMtu(int index)
    {
        lock (_lock)
        {
            _seq++;
            int length = NetlinkMessage.GetLink(_request, _seq, index);
            Send(length, "get link");
            for (int i = 0; i < 16; i++)
            {
                int n = Receive("get link");
                if (NetlinkMessage.ReadLinkMtu(_answer.AsSpan(0, n), _seq) is { } mtu)
                {
                    return mtu;
                }
                if (NetlinkMessage.TryReadAck(_answer.AsSpan(0, n), _seq, out int errno) && errno != 0)
                {
                    throw new PeerException(PeerError.InternalError, $"netlink get link {index}: {LibC.ErrorName(errno)}.");
                }
            }
            throw new PeerException(PeerError.InternalError, $"netlink get link {index}: no answer.");
        }
    }

    private delegate int Build(Span<byte> buffer);

    private void Execute(Build build, string what, int tolerated = 0)
    {
        lock (_lock)
        {
            _seq++;
            int length = build(_request);
            Send(length, what);
            // Bounded: a reply is one datagram; skip at most a few unrelated ones.
            for (int i = 0; i < 16; i++)
            {
                int n = Receive(what);
                if (NetlinkMessage.TryReadAck(_answer.AsSpan(0, n), _seq, out int errno))
                {
                    if (errno != 0 && errno != tolerated)
                    {
                        throw new PeerException(PeerError.InternalError, $"netlink {what}: {LibC.ErrorName(errno)}.");
                    }
                    return;
                }
            }
            throw new PeerException(PeerError.InternalError, $"netlink {what}: no acknowledgement.");
        }
    }

    private void Send(int length, string what)
    {
        byte* address = stackalloc byte[12];
        new Span<byte>(address, 12).Clear();
        *(ushort*)address = LibC.AfNetlink;
        fixed (byte* p = _request)
        {
            if (LibC.sendto((int)_socket.DangerousGetHandle(), p, length, 0, address, 12) != length)
            {
                throw new PeerException(PeerError.InternalError, $"netlink {what}: send failed with {LibC.ErrorName(Marshal.GetLastPInvokeError())}.");
            }
        }
    }

    private int Receive(string what)
    {
        fixed (byte* p = _answer)
        {
            while (true)
            {
                nint n = LibC.recv((int)_socket.DangerousGetHandle(), p, _answer.Length, 0);
                if (n >= 0)
                {
                    return (int)n;
                }
                int errno = Marshal.GetLastPInvokeError();
                if (errno != LibC.EIntr)
                {
                    throw new PeerException(PeerError.InternalError, $"netlink {what}: receive failed with {LibC.ErrorName(errno)}.");
                }
            }
        }
    }

    /// <inheritdoc />
    public void Dispose() => _socket.Dispose();
}
