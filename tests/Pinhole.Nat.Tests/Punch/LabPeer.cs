using System.Net;
using Pinhole.Dtls;
using Pinhole.Testing.Netlab;

namespace Pinhole.Nat.Tests.Punch;

/// <summary>One peer: its node socket (mux) in its site's namespace, DTLS on it, its candidates and credential.</summary>
internal sealed class LabPeer : IAsyncDisposable
{
    private LabPeer(LabSite site, NetcheckReport report, UdpMux mux)
    {
        Site = site;
        Report = report;
        Mux = mux;
        Dtls = DtlsEndpoint.Create(new DtlsEndpointOptions { Identity = Identity, Bind = mux.OpenDtlsBind() });
    }

    public LabSite Site { get; }

    public NetcheckReport Report { get; }

    public UdpMux Mux { get; }

    public NodeIdentity Identity { get; } = NodeIdentity.Generate();

    public DtlsEndpoint Dtls { get; }

    public UdpPunchCredentials Credentials { get; } = UdpPunchCredentials.Generate();

    public List<UdpCandidate> Candidates { get; } = [];

    public static TurnClientOptions Turn(NatLab lab) => new() { Server = lab.StunServer, Username = NatLab.TurnUser, Password = NatLab.TurnPassword };

    public static async Task<LabPeer> StartAsync(NatLab lab, LabSite site, NetcheckReport report, CancellationToken cancellationToken)
    {
        LabHost host = site.Host;
        UdpMux mux = OpenSocket(host);
        var side = new LabPeer(site, report, mux);
        side.Candidates.Add(new UdpCandidate(UdpCandidateKind.Host, (IPEndPoint)mux.LocalEndPoint));
        try
        {
            StunResponse stun = await mux.Stun.BindingAsync(lab.StunServer, cancellationToken: cancellationToken);
            if (!stun.Message.ReflexiveAddress!.Equals(mux.LocalEndPoint))
            {
                side.Candidates.Add(new UdpCandidate(UdpCandidateKind.ServerReflexive, stun.Message.ReflexiveAddress));
            }
        }
        catch (PeerException) when (site.Nat == NatType.UdpBlocked)
        {
            // No reflexive candidate without UDP: only the host one (unreachable from outside).
        }
        return side;
    }

    /// <summary>A socket of the site's host (made on a thread inside its namespace, so it lives there).</summary>
    public static UdpMux OpenSocket(LabHost host) => host.RunInside(() => UdpMux.Bind(new IPEndPoint(host.Address, 0), new UdpMuxOptions
    {
        StunClient = new StunClientOptions { InitialRetransmitTimeout = TimeSpan.FromMilliseconds(250), MaxSends = 5, FinalWaitMultiplier = 8 },
    }));

    public UdpPunchOptions PunchOptions(LabPeer peer, bool controlling, TimeSpan? keepalive = null)
    {
        var options = new UdpPunchOptions
        {
            Local = Credentials,
            Remote = peer.Credentials,
            Controlling = controlling,
            // Room for birthday probing on a loaded machine: the hard side opens its 256 sockets (each through a thread
            // inside the namespace) while the easy side's first probes go to ports nothing holds open yet.
            Timeout = TimeSpan.FromSeconds(15),
            KeepaliveInterval = keepalive ?? TimeSpan.FromSeconds(10),
            LocalMapping = Report.Mapping,
            LocalFiltering = Report.Filtering,
            RemoteMapping = peer.Report.Mapping,
            RemoteFiltering = peer.Report.Filtering,
            BirthdaySocketFactory = () => OpenSocket(Site.Host),
        };
        foreach (UdpCandidate candidate in peer.Candidates)
        {
            options.RemoteCandidates.Add(candidate);
        }
        return options;
    }

    public async ValueTask DisposeAsync()
    {
        await Dtls.DisposeAsync();
        await Mux.DisposeAsync();
        Identity.Dispose();
    }
}
