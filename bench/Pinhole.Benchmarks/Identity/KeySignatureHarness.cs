using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Crypto.EC;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Math;

namespace Pinhole.Benchmarks.Identity;

/// <summary>
/// <c>keys [--rounds N] [--ops N]</c>: node-key signing and remote-key verification through Pinhole's own API
/// (<see cref="NodeIdentity.Sign"/>, <see cref="Libp2pPublicKey.Verify"/>) for Ed25519 and secp256k1
/// (BouncyCastle), against ECDSA P-256 through the BCL (OpenSSL) measured in the same rounds: ops/s, CPU µs per
/// operation, and the ratio to the P-256 baseline (docs/performance.md, "Keys").
/// </summary>
internal static class KeySignatureHarness
{
    public const string Command = "keys";

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
                    Console.Error.WriteLine($"Unknown option '{args[i]}'. Usage: keys [--rounds N] [--ops N]");
                    return 2;
            }
        }
        var message = RandomNumberGenerator.GetBytes(64);
        using var p256 = NodeIdentity.Generate(Libp2pKeyType.Ecdsa);
        using var ed25519 = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var p256Signature = p256.Sign(message);
        var ed25519Signature = ed25519.Sign(message);
        var (secp256k1, secp256k1Signature) = Secp256k1KeyAndSignature(message);
        // Remote keys as a handshake sees them: decoded from their protobuf, prepared once, then verified.
        var p256Remote = Libp2pPublicKey.Decode(p256.PublicKey.Encoded.Span);
        var ed25519Remote = Libp2pPublicKey.Decode(ed25519.PublicKey.Encoded.Span);

        var cases = new (string Name, string Baseline, Func<bool> Run)[]
        {
            ("ECDSA P-256 sign (BCL)", "", () => p256.Sign(message).Length > 0),
            ("Ed25519 sign", "ECDSA P-256 sign (BCL)", () => ed25519.Sign(message).Length > 0),
            ("ECDSA P-256 verify (BCL)", "", () => p256Remote.Verify(message, p256Signature)),
            ("Ed25519 verify", "ECDSA P-256 verify (BCL)", () => ed25519Remote.Verify(message, ed25519Signature)),
            ("secp256k1 verify", "ECDSA P-256 verify (BCL)", () => secp256k1.Verify(message, secp256k1Signature)),
            ("ECDSA P-256 decode + verify (new peer)", "", () => Libp2pPublicKey.Decode(p256.PublicKey.Encoded.Span).Verify(message, p256Signature)),
            ("Ed25519 decode + verify (new peer)", "ECDSA P-256 decode + verify (new peer)", () => Libp2pPublicKey.Decode(ed25519.PublicKey.Encoded.Span).Verify(message, ed25519Signature)),
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
        Console.WriteLine($"pinhole keys benchmark: {Environment.ProcessorCount} cores, {rounds} rounds x {ops} ops, 64-byte message");
        var opsPerSecond = cases.ToDictionary(c => c.Name, _ => new List<double>());
        var cpu = cases.ToDictionary(c => c.Name, _ => new List<double>());
        var ratios = cases.ToDictionary(c => c.Name, _ => new List<double>());
        for (var round = 0; round < rounds; round++)
        {
            // Alternate the order so drift in the machine's load hits every case alike.
            var order = round % 2 == 0 ? cases : [.. cases.Reverse()];
            foreach (var c in order)
            {
                var (rate, cpuMicroseconds) = Measure(c.Run, ops);
                opsPerSecond[c.Name].Add(rate);
                cpu[c.Name].Add(cpuMicroseconds);
            }
            foreach (var c in cases.Where(c => c.Baseline.Length > 0))
            {
                ratios[c.Name].Add(cpu[c.Name][^1] / cpu[c.Baseline][^1]);
            }
        }
        Console.WriteLine();
        Console.WriteLine("| operation | ops/s (median) | CPU µs/op (median) | CPU per op vs P-256 (median of per-round ratios) |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var c in cases)
        {
            var ratio = c.Baseline.Length > 0 ? string.Create(CultureInfo.InvariantCulture, $"{Median(ratios[c.Name]):F2}×") : "baseline";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {c.Name} | {Median(opsPerSecond[c.Name]):F0} | {Median(cpu[c.Name]):F1} | {ratio} |"));
        }
        return 0;
    }

    private static (Libp2pPublicKey Key, byte[] Signature) Secp256k1KeyAndSignature(byte[] message)
    {
        // Pinhole never signs with secp256k1 (node keys are P-256 or Ed25519): sign with BouncyCastle directly.
        var curve = CustomNamedCurves.GetByName("secp256k1");
        var domain = new ECDomainParameters(curve.Curve, curve.G, curve.N, curve.H);
        var d = new BigInteger(1, RandomNumberGenerator.GetBytes(31));
        var signer = new DsaDigestSigner(new ECDsaSigner(new HMacDsaKCalculator(new Sha256Digest())), new Sha256Digest());
        signer.Init(true, new ECPrivateKeyParameters(d, domain));
        signer.BlockUpdate(message, 0, message.Length);
        var key = Libp2pPublicKey.Create(Libp2pKeyType.Secp256k1, curve.G.Multiply(d).Normalize().GetEncoded(true));
        return (key, signer.GenerateSignature());
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
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu0;
        return (ops / stopwatch.Elapsed.TotalSeconds, cpu.TotalMicroseconds / ops);
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }
}
