using System.Net;
using System.Net.Sockets;

namespace Pinhole.Nat;

/// <summary>
/// Birthday probing (the "hard ↔ easy" case Tailscale describes but does not do): when one NAT maps per destination
/// and the other filters by address and port, the hard side's port towards the peer cannot be predicted. The hard
/// side opens <see cref="UdpPunchOptions.BirthdaySockets"/> extra sockets and sends a check from each to the peer,
/// so its NAT holds that many ports open to the peer's address; the easy side sends checks to random ports of the
/// hard side's public address, <see cref="UdpPunchOptions.BirthdayProbesPerCheck"/> each interval, none twice in a round.
/// A probe that lands on an open port reaches its socket (the NAT lets in the very address and port it sent to),
/// opens the easy side's filter for that port, and the hard side checks back from that socket: an ordinary pair,
/// validated and nominated as any other, on the extra socket. With 256 ports of ~64,500, each probe hits with
/// p ≈ 0.004; 100 probes every 200 ms miss for 8 s with probability ≈ 1e-7.
/// </summary>
internal sealed partial class PunchSession
{
    private const int FirstProbedPort = 1024; // NATs keep ports of 1024 and up in that range
    private const int OpenerEvery = 5; // the hard side's sockets repeat their opening check every few intervals
    private const int MaxProbes = 8192; // per punch, whatever the timeout: the address probed is the peer's word

    private readonly List<(UdpMux Mux, IDisposable Registration)> _birthday = [];
    private UdpMux? _chosen;
    private BirthdayRole _role;
    private IPAddress? _probed;
    private int[]? _probeOrder;
    private int _probeNext;
    private long _probesSent;

    private enum BirthdayRole
    {
        None,
        Hard,
        Easy,
    }

    private static bool PerDestination(NatMappingBehavior m) => m is NatMappingBehavior.AddressDependent or NatMappingBehavior.AddressAndPortDependent;

    private static bool FiltersPorts(NatMappingBehavior m, NatFilteringBehavior f) => m != NatMappingBehavior.NoNat && f == NatFilteringBehavior.AddressAndPortDependent;

    private static BirthdayRole RoleOf(UdpPunchOptions o) =>
        o.BirthdaySockets == 0 ? BirthdayRole.None
        : PerDestination(o.LocalMapping) && !PerDestination(o.RemoteMapping) && FiltersPorts(o.RemoteMapping, o.RemoteFiltering) ? BirthdayRole.Hard
        : PerDestination(o.RemoteMapping) && !PerDestination(o.LocalMapping) && FiltersPorts(o.LocalMapping, o.LocalFiltering) ? BirthdayRole.Easy
        : BirthdayRole.None;

    private void StartBirthday()
    {
        _role = RoleOf(Options);
        if (_role == BirthdayRole.Hard)
        {
            Func<UdpMux> open = Options.BirthdaySocketFactory ?? DefaultSocket;
            for (int i = 0; i < Options.BirthdaySockets; i++)
            {
                UdpMux mux;
                try
                {
                    mux = open();
                }
                catch (SocketException e)
                {
                    // Out of ports or descriptors: probe with what there is.
                    PunchLog.CheckFailed(Logger, new UdpCandidate(UdpCandidateKind.Host, (IPEndPoint)_mux.LocalEndPoint), $"birthday socket {i}: {e.Message}");
                    break;
                }
                lock (_birthday)
                {
                    _birthday.Add((mux, mux.AddStunHandler((source, message) => OnStun(mux, source, message))));
                }
            }
        }
        else if (_role == BirthdayRole.Easy)
        {
            // The hard side's public address: where its NAT's ports are.
            _probed = Options.RemoteCandidates.FirstOrDefault(c => c.Kind == UdpCandidateKind.ServerReflexive)?.EndPoint.Address
                ?? Options.RemoteCandidates.FirstOrDefault(c => c.Kind != UdpCandidateKind.Host)?.EndPoint.Address;
            // The peer names the address; this side then sends it hundreds of datagrams a second. Only a public unicast
            // address can be a NAT's (a peer cannot aim the probes at this side's LAN, loopback or a multicast group),
            // and the probes per punch are capped.
            if (_probed is null || Netcheck.IsPrivateOrShared(_probed) || IsMulticastOrBroadcast(_probed))
            {
                _role = BirthdayRole.None;
                return;
            }
            _probeOrder = new int[65536 - FirstProbedPort];
            for (int i = 0; i < _probeOrder.Length; i++)
            {
                _probeOrder[i] = FirstProbedPort + i;
            }
            Random.Shared.Shuffle(_probeOrder);
        }
    }

    private static bool IsMulticastOrBroadcast(IPAddress address) =>
        address.IsIPv4MappedToIPv6 ? IsMulticastOrBroadcast(address.MapToIPv4())
        : address.AddressFamily == AddressFamily.InterNetwork ? address.GetAddressBytes()[0] >= 224
        : address.IsIPv6Multicast;

    private UdpMux DefaultSocket()
    {
        var local = (IPEndPoint)_mux.LocalEndPoint;
        return UdpMux.Bind(new IPEndPoint(local.Address, 0));
    }

    // Called by the pacer each interval, after the ordinary checks.
    private void BirthdayTick(long tick)
    {
        if (_role == BirthdayRole.Hard && tick % OpenerEvery == 0)
        {
            UdpMux[] sockets;
            lock (_birthday)
            {
                sockets = [.. _birthday.Select(b => b.Mux)];
            }
            foreach (UdpCandidate target in Options.RemoteCandidates.Where(c => c.Kind != UdpCandidateKind.Host))
            {
                IPEndPoint to = UdpHolePunch.Normalize(target.EndPoint);
                foreach (UdpMux mux in sockets)
                {
                    _ = SendDetachedAsync(mux, to, NewCheck(nominate: false).ToArray());
                }
            }
        }
        else if (_role == BirthdayRole.Easy && _probeOrder is { } order)
        {
            for (int i = 0; i < Options.BirthdayProbesPerCheck && _probesSent < MaxProbes; i++)
            {
                if (_probeNext == order.Length)
                {
                    // Every port probed once (a minute and more): again, in a new order.
                    Random.Shared.Shuffle(order);
                    _probeNext = 0;
                }
                _ = SendDetachedAsync(_mux, new IPEndPoint(_probed!, order[_probeNext++]), NewCheck(nominate: false).ToArray());
                _probesSent++;
            }
        }
    }

    // The punch found its pair: keep that socket (the path's), close the others.
    private async Task ChooseAsync(UdpMux mux)
    {
        _chosen = ReferenceEquals(mux, _mux) ? null : mux;
        await DisposeBirthdayAsync(keep: _chosen).ConfigureAwait(false);
    }

    private async Task DisposeBirthdayAsync(UdpMux? keep)
    {
        (UdpMux Mux, IDisposable Registration)[] sockets;
        lock (_birthday)
        {
            sockets = [.. _birthday.Where(b => !ReferenceEquals(b.Mux, keep))];
            _birthday.RemoveAll(b => !ReferenceEquals(b.Mux, keep));
        }
        foreach ((UdpMux mux, IDisposable registration) in sockets)
        {
            registration.Dispose();
            await mux.DisposeAsync().ConfigureAwait(false);
        }
    }

    private string BirthdaySummary() => _role switch
    {
        BirthdayRole.Hard => $"birthday probing found no port ({Options.BirthdaySockets} sockets held open towards the peer)",
        BirthdayRole.Easy => $"birthday probing found no port ({_probesSent} random ports of {_probed} probed)",
        _ => Options.BirthdaySockets == 0 ? "the port cannot be predicted, and birthday probing is off" : "the port cannot be predicted (birthday probing needs both netchecks and a public unicast address of the peer)",
    };
}
