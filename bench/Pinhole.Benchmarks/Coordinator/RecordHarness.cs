using System.Diagnostics;
using System.Globalization;
using System.Net;
using Pinhole.Membership;

namespace Pinhole.Benchmarks.Coordinator;

/// <summary>
/// <c>records [--rounds N] [--ops N]</c>: verification of signed network records (docs/coordinator.md) through
/// <see cref="NetworkRecord"/> (decode, every signature, internal checks; the process-wide record and signature memos
/// bypassed for "cold", the signature memo kept for "warm") and the
/// trust check against the network (<see cref="NetworkState.Check"/>), against the raw baseline measured in the same
/// rounds: one Ed25519 signature verification over the same payload. CPU µs per record and the ratio to the baseline.
/// </summary>
internal static class RecordHarness
{
    public const string Command = "records";

    public static int Run(string[] args)
    {
        var rounds = 5;
        var ops = 2000;
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--rounds": rounds = int.Parse(value!, CultureInfo.InvariantCulture); i++; break;
                case "--ops": ops = int.Parse(value!, CultureInfo.InvariantCulture); i++; break;
                default:
                    Console.Error.WriteLine($"Unknown option '{args[i]}'. Usage: records [--rounds N] [--ops N]");
                    return 2;
            }
        }
        using var admin = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var node = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var now = DateTimeOffset.UtcNow;
        var genesis = GenesisRecord.Create("bench", new AdminSet([admin.PublicKey], 1), IPNetwork.Parse("100.96.0.0/16"), null, now, [admin]);
        var membership = MembershipRecord.Issue(admin, genesis.Network, node.PeerId, IPAddress.Parse("100.96.0.7"), null, ["all"], now, now.AddDays(30), now);
        var endpoint = EndpointRecord.Create(node, genesis.Network, [Multiaddr.Parse("/ip4/192.0.2.7/tcp/4001"), Multiaddr.Parse("/ip4/192.0.2.7/udp/4001")], 1, EndpointNatType.EndpointIndependent, default, now);
        var state = new NetworkState(genesis);
        state.Apply(membership, now);
        var membershipBlob = membership.Encoded.ToArray();
        var endpointBlob = endpoint.Encoded.ToArray();
        // The raw baseline: the same key verifying one signature over a message as long as the membership's payload.
        var payload = membership.Envelopes[0].Payload.ToArray();
        var signature = admin.Sign(payload);
        var adminRemote = Libp2pPublicKey.Decode(admin.PublicKey.Encoded.Span);
        var decodedEndpoint = (EndpointRecord)NetworkRecord.DecodeUncached(endpointBlob);

        var cases = new (string Name, Func<bool> Run)[]
        {
            ("Ed25519 verify, membership-sized payload (baseline)", () => adminRemote.Verify(payload, signature)),
            // Cold: the signature memo (EnvelopeVerifier) is emptied first, so every signature is really verified.
            ("membership record: decode + verify (cold)", () => Cold(() => NetworkRecord.DecodeUncached(membershipBlob) is MembershipRecord)),
            ("membership record: decode + verify + check against the network (cold)", () => Cold(() => state.Check(NetworkRecord.DecodeUncached(membershipBlob), now).Status != ApplyStatus.Rejected)),
            ("endpoint record (libp2p peer record + Pinhole envelope): decode + verify (cold)", () => Cold(() => NetworkRecord.DecodeUncached(endpointBlob) is EndpointRecord)),
            // Warm: the same record again in one process (many clients, or gossip): parsed, signatures remembered.
            ("membership record: decode, signature remembered (warm)", () => NetworkRecord.DecodeUncached(membershipBlob) is MembershipRecord),
            ("endpoint record: check against the network (decoded)", () => state.Check(decodedEndpoint, now).Status != ApplyStatus.Rejected),
        };
        foreach (var c in cases)
        {
            for (var i = 0; i < 300; i++)
            {
                if (!c.Run())
                {
                    throw new InvalidOperationException($"{c.Name} failed");
                }
            }
        }
        Console.WriteLine($"pinhole records benchmark: {Environment.ProcessorCount} cores, {rounds} rounds x {ops} records, load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        var cpu = cases.ToDictionary(c => c.Name, _ => new List<double>());
        var rates = cases.ToDictionary(c => c.Name, _ => new List<double>());
        var ratios = cases.ToDictionary(c => c.Name, _ => new List<double>());
        for (var round = 0; round < rounds; round++)
        {
            var order = round % 2 == 0 ? cases : [.. cases.Reverse()];
            foreach (var c in order)
            {
                var (rate, micros) = Measure(c.Run, ops);
                rates[c.Name].Add(rate);
                cpu[c.Name].Add(micros);
            }
            foreach (var c in cases)
            {
                ratios[c.Name].Add(cpu[c.Name][^1] / cpu[cases[0].Name][^1]);
            }
        }
        Console.WriteLine();
        Console.WriteLine("| operation | records/s per core (median) | CPU µs/record (median) | CPU vs one Ed25519 verify (median of per-round ratios) |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var c in cases)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {c.Name} | {1e6 / Median(cpu[c.Name]):F0} | {Median(cpu[c.Name]):F1} | {Median(ratios[c.Name]):F2}× |"));
        }
        return 0;
    }

    private static bool Cold(Func<bool> operation)
    {
        Membership.Internal.EnvelopeVerifier.Clear();
        return operation();
    }

    private static (double OpsPerSecond, double CpuMicroseconds) Measure(Func<bool> operation, int ops)
    {
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var stopwatch = Stopwatch.StartNew();
        for (var i = 0; i < ops; i++)
        {
            if (!operation())
            {
                throw new InvalidOperationException("An operation failed during measurement.");
            }
        }
        stopwatch.Stop();
        var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds * 1000 / ops;
        return (ops / stopwatch.Elapsed.TotalSeconds, cpu);
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }
}
