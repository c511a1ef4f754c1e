using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Pinhole.Dtls;
using Pinhole.Nat.Tests.Lab;
using Pinhole.Nat.Tests.Netcheck;
using Pinhole.Testing.Netlab;
using Xunit.Abstractions;

namespace Pinhole.Nat.Tests.Punch;

/// <summary>
/// The UDP grid in the NAT lab: for each pair of NAT types both peers run netcheck, gather host and STUN
/// candidates on their node socket, swap them (in-process here; over the relay in a node) and punch at once.
/// Where a direct path must exist it is found and carries DTLS end to end — a NAT that maps per destination against
/// one that filters by port through birthday probing, on the extra socket that found the peer; where it cannot (two
/// NATs that map per destination) the punch fails with that precise reason and the pair falls back to TURN through
/// the lab's coturn, DTLS inside; with UDP blocked neither works.
/// </summary>
[Trait("Category", "Netns")]
public sealed class UdpPunchGridTests(ITestOutputHelper output)
{
    private enum PathTaken { Direct, Turn, None }

    private sealed record Pair(string A, string B, PathTaken Expected, UdpPunchFailure? Failure = null, bool Birthday = false);

    private static readonly Pair[] Grid =
    [
        new("easy1", "easy2", PathTaken.Direct),
        new("easy1", "one", PathTaken.Direct),
        new("pub", "easy2", PathTaken.Direct),
        new("one", "hard1", PathTaken.Direct),
        new("pub", "hard2", PathTaken.Direct),
        new("one", "rand", PathTaken.Direct),
        // Birthday probing: the hard side holds 256 ports open towards the easy one, which probes random ports.
        new("easy1", "hard1", PathTaken.Direct, Birthday: true),
        new("rand", "easy2", PathTaken.Direct, Birthday: true),
        new("hard1", "hard2", PathTaken.Turn, UdpPunchFailure.BothMappingsEndpointDependent),
        new("hard2", "rand", PathTaken.Turn, UdpPunchFailure.BothMappingsEndpointDependent),
        new("noudp", "easy2", PathTaken.None, UdpPunchFailure.NoResponse),
    ];

    [LabFact(coturn: true)]
    public async Task Every_pair_takes_the_path_its_nats_allow()
    {
        var options = new NatLabOptions { Coturn = true }
            .Add("pub", NatType.Public).Add("one", NatType.OneToOne).Add("easy1", NatType.Easy).Add("easy2", NatType.Easy)
            .Add("hard1", NatType.Hard).Add("hard2", NatType.Hard).Add("rand", NatType.HardFullyRandom).Add("noudp", NatType.UdpBlocked);
        await using NatLab lab = await NatLab.CreateAsync(options);
        using var guard = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        Dictionary<string, NetcheckReport> netcheck = (await Task.WhenAll(lab.Sites.Select(async s => (s.Name, Report: await Pinhole.Nat.Netcheck.RunAsync(NetcheckLabTests.For(lab, s.Host), guard.Token)))))
            .ToDictionary(r => r.Name, r => r.Report);

        (PathTaken Path, string Detail, TimeSpan Elapsed)[] results = await Task.WhenAll(Grid.Select(pair => RunPairAsync(lab, netcheck, pair, guard.Token)));

        var grid = new StringBuilder("| pair | mapping / filtering | path | time to path | detail |\n|---|---|---|---|---|\n");
        for (int i = 0; i < Grid.Length; i++)
        {
            Pair pair = Grid[i];
            grid.Append(CultureInfo.InvariantCulture,
                $"| {lab[pair.A].Nat} ↔ {lab[pair.B].Nat} | {Brief(netcheck[pair.A])} ↔ {Brief(netcheck[pair.B])} | {results[i].Path} | {results[i].Elapsed.TotalMilliseconds:0} ms | {results[i].Detail} |\n");
        }
        output.WriteLine(grid.ToString());
        for (int i = 0; i < Grid.Length; i++)
        {
            Assert.True(Grid[i].Expected == results[i].Path, $"{Grid[i].A} ↔ {Grid[i].B}: expected {Grid[i].Expected}, took {results[i].Path} ({results[i].Detail})\n{grid}");
        }
    }

    private async Task<(PathTaken, string, TimeSpan)> RunPairAsync(NatLab lab, Dictionary<string, NetcheckReport> netcheck, Pair pair, CancellationToken cancellationToken)
    {
        await using LabPeer a = await LabPeer.StartAsync(lab, lab[pair.A], netcheck[pair.A], cancellationToken);
        await using LabPeer b = await LabPeer.StartAsync(lab, lab[pair.B], netcheck[pair.B], cancellationToken);
        var clock = Stopwatch.StartNew();
        Task<UdpPath> punchA = UdpHolePunch.PunchAsync(a.Mux, a.PunchOptions(b, controlling: true), cancellationToken);
        Task<UdpPath> punchB = UdpHolePunch.PunchAsync(b.Mux, b.PunchOptions(a, controlling: false), cancellationToken);
        try
        {
            await using UdpPath pathA = await punchA;
            await using UdpPath pathB = await punchB;
            TimeSpan toDirect = clock.Elapsed;
            Assert.Null(pair.Failure);
            // DTLS from each path's own socket: a birthday path is on the extra socket whose NAT port the peer found.
            await using DtlsEndpoint? ownA = ReferenceEquals(pathA.Mux, a.Mux) ? null : DtlsEndpoint.Create(new DtlsEndpointOptions { Identity = a.Identity, Bind = pathA.Mux.OpenDtlsBind() });
            await using DtlsEndpoint? ownB = ReferenceEquals(pathB.Mux, b.Mux) ? null : DtlsEndpoint.Create(new DtlsEndpointOptions { Identity = b.Identity, Bind = pathB.Mux.OpenDtlsBind() });
            await ExchangeOverDtlsAsync(ownA ?? a.Dtls, a.Identity, pathA.RemoteEndPoint, ownB ?? b.Dtls, b.Identity, pathB.RemoteEndPoint, cancellationToken);
            // Exactly the hard ↔ easy pairs are found by birthday probing, on the hard side's extra socket.
            Assert.True(pair.Birthday == (ownA is not null || ownB is not null), $"{pair.A} ↔ {pair.B}: path on an extra socket: {ownA is not null || ownB is not null}");
            string birthday = ownA is not null || ownB is not null ? " (birthday socket)" : "";
            return (PathTaken.Direct, $"{pathA.Candidate} ⇄ {pathB.Candidate}{birthday}, rtt {pathA.RoundTripTime?.TotalMilliseconds:0.0} ms; DTLS ok", toDirect);
        }
        catch (UdpPunchException e)
        {
            output.WriteLine($"{pair.A} ↔ {pair.B}: {e.Message}");
            Assert.Equal(pair.Failure, e.Failure);
            await Assert.ThrowsAsync<UdpPunchException>(async () => await (await punchB).DisposeAsync());
        }
        // No direct path: fall back to TURN on each side's own socket (the allocation is tied to its 5-tuple).
        TurnAllocation turnA, turnB;
        try
        {
            turnA = await TurnAllocation.AllocateAsync(a.Mux, LabPeer.Turn(lab), cancellationToken);
        }
        catch (PeerException e) when (pair.Expected == PathTaken.None)
        {
            Assert.Equal(PeerError.Timeout, e.Error);
            return (PathTaken.None, $"punch: {pair.Failure}; TURN over UDP: {e.Error} (needs a TCP relay)", clock.Elapsed);
        }
        await using (turnA)
        {
            turnB = await TurnAllocation.AllocateAsync(b.Mux, LabPeer.Turn(lab), cancellationToken);
            await using (turnB)
            {
                TurnPeerEndPoint aToB = await turnA.BindChannelAsync(turnB.RelayedAddress, cancellationToken);
                TurnPeerEndPoint bToA = await turnB.BindChannelAsync(turnA.RelayedAddress, cancellationToken);
                await ExchangeOverDtlsAsync(a, aToB, b, bToA, cancellationToken);
                return (PathTaken.Turn, $"punch: {pair.Failure}; TURN {turnA.RelayedAddress} ⇄ {turnB.RelayedAddress}; DTLS ok", clock.Elapsed);
            }
        }
    }

    internal static Task ExchangeOverDtlsAsync(LabPeer a, EndPoint aToB, LabPeer b, EndPoint bToA, CancellationToken cancellationToken) =>
        ExchangeOverDtlsAsync(a.Dtls, a.Identity, aToB, b.Dtls, b.Identity, bToA, cancellationToken);

    private static Task ExchangeOverDtlsAsync(DtlsEndpoint dtlsA, NodeIdentity identityA, EndPoint aToB, DtlsEndpoint dtlsB, NodeIdentity identityB, EndPoint bToA, CancellationToken cancellationToken) =>
        Support.DtlsExchange.RunAsync(dtlsA, identityA, aToB, dtlsB, identityB, bToA, "ping across the NATs"u8.ToArray(), "pong"u8.ToArray(), cancellationToken);

    private static string Brief(NetcheckReport r) => r.Udp ? $"{Short(r.Mapping.ToString())}/{Short(r.Filtering.ToString())}" : "no UDP";

    private static string Short(string behaviour) => behaviour switch
    {
        "EndpointIndependent" => "EI",
        "AddressDependent" => "AD",
        "AddressAndPortDependent" => "APD",
        "NoNat" => "none",
        _ => behaviour,
    };
}
