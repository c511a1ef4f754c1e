using Pinhole.Benchmarks.Identity;
using Pinhole.Benchmarks.Messaging;
using Pinhole.Benchmarks.Daemon;
using Pinhole.Benchmarks.Nat;
using Pinhole.Benchmarks.Relay;
using Pinhole.Benchmarks.Transport;

namespace Pinhole.Benchmarks;

/// <summary>
/// <c>transport [--seconds N] [--rounds N] [--only a,b]</c> runs the whole-system loopback comparison with a
/// bare SslStream (docs/performance.md); <c>keys</c> measures signing and verification against ECDSA P-256;
/// <c>records</c> and <c>fanout</c> measure the coordinator (record checks; one revocation to N streaming members); <c>relay</c> compares relayed with direct connections (circuit relay v2); <c>nat</c> measures the UDP mux and
/// TURN against raw sockets; <c>node</c> the daemon's API and connect path with the direct one; <c>messaging</c> measures channels
/// and codecs with CPU per message; any other arguments go to BenchmarkDotNet's switcher.
/// </summary>
internal static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == TransportHarness.Command)
        {
            return TransportHarness.Run(args[1..]);
        }
        if (args.Length > 0 && args[0] == FixedWorkScenario.Command)
        {
            return FixedWorkScenario.Run(args[1..]);
        }
        if (args.Length > 0 && args[0] == Coordinator.RecordHarness.Command)
        {
            return Coordinator.RecordHarness.Run(args[1..]);
        }
        if (args.Length > 0 && args[0] == Coordinator.FanOutHarness.Command)
        {
            return Coordinator.FanOutHarness.Run(args[1..]);
        }
        if (args.Length > 0 && args[0] == KeySignatureHarness.Command)
        {
            return KeySignatureHarness.Run(args[1..]);
        }
        if (args.Length > 0 && args[0] == RelayHarness.Command)
        {
            return RelayHarness.Run(args[1..]);
        }
        if (args.Length > 0 && args[0] == RelayChild.Command)
        {
            return RelayChild.Run(args[1..]);
        }
        if (args.Length > 0 && args[0] == NatHarness.Command)
        {
            return NatHarness.Run(args[1..]);
        }
        if (args.Length > 0 && args[0] == NodeHarness.Command)
        {
            return NodeHarness.Run(args[1..]);
        }
        if (args.Length > 0 && args[0] == NodeClientChild.Command)
        {
            return NodeClientChild.Run(args[1..]);
        }
        if (args.Length > 0 && args[0] == MessagingHarness.Command)
        {
            return MessagingHarness.Run(args[1..]);
        }
        if (args.Length > 0 && args[0] == IdleMemoryScenario.ChildCommand)
        {
            return IdleMemoryScenario.RunChild(args[1..]);
        }
        BenchmarkDotNet.Running.BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
