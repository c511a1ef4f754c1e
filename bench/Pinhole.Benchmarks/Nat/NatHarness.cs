using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Pinhole.Dtls;
using Pinhole.Nat;

namespace Pinhole.Benchmarks.Nat;

/// <summary>
/// <c>nat [--packets N] [--rounds N]</c>: the UDP hot paths of <c>Pinhole.Nat</c> against their raw baselines in
/// the same run, 1200-byte DTLS-looking datagrams one way over 127.0.0.1 with at most 64 in flight:
/// <list type="bullet">
/// <item><b>demux</b>: a receiver reading a raw <see cref="UdpDatagramBind"/> vs the same kind of socket under a
/// <see cref="UdpMux"/>, read through its DTLS view (RFC 7983 classification on every datagram);</item>
/// <item><b>turn</b>: sending straight to the peer's socket vs through a TURN allocation on a real coturn
/// (ChannelData, 4 bytes of framing each way), coturn's own CPU read from /proc apart from ours.</item>
/// </list>
/// Figures: packets per second, the ratio per round, and CPU microseconds per packet (this process; coturn apart).
/// </summary>
internal static class NatHarness
{
    public const string Command = "nat";
    private const int PacketSize = 1200;
    private const int Window = 64;

    public static int Run(string[] args)
    {
        int packets = 100_000, rounds = 5;
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--packets": packets = int.Parse(value!, CultureInfo.InvariantCulture); i++; break;
                case "--rounds": rounds = int.Parse(value!, CultureInfo.InvariantCulture); i++; break;
                default:
                    Console.Error.WriteLine($"Unknown option '{args[i]}'. Usage: nat [--packets N] [--rounds N]");
                    return 2;
            }
        }
        Console.WriteLine($"pinhole nat benchmark: {Environment.ProcessorCount} cores, load {File.ReadAllText("/proc/loadavg").Trim()}, {RuntimeInformation.FrameworkDescription}");
        return RunAsync(packets, rounds).GetAwaiter().GetResult();
    }

    private static async Task<int> RunAsync(int packets, int rounds)
    {
        var values = new Dictionary<string, List<double>>();
        void Add(int round, string name, double value, string unit)
        {
            if (round == 0)
            {
                return; // warm-up
            }
            (values.TryGetValue(name, out var list) ? list : values[name] = []).Add(value);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  round {round}: {name,-40} {value,10:F3} {unit}"));
        }

        await using Coturn? coturn = Coturn.TryStart();
        if (coturn is null)
        {
            Console.WriteLine("turnserver not installed: the TURN rows are skipped (scripts/setup-test-deps.sh installs coturn)");
        }
        for (var round = 0; round <= rounds; round++)
        {
            // Interleaved A/B in each round, so load changes hit both sides of a ratio alike.
            var raw = await MeasureAsync(packets, viaMux: false, turn: null);
            var mux = await MeasureAsync(packets, viaMux: true, turn: null);
            Add(round, "demux: raw socket", raw.Rate / 1e3, "k packets/s");
            Add(round, "demux: UdpMux DTLS view", mux.Rate / 1e3, "k packets/s");
            Add(round, "demux: ratio mux / raw", mux.Rate / raw.Rate, "x");
            Add(round, "demux: CPU per packet raw", raw.CpuPerPacket, "us");
            Add(round, "demux: CPU per packet mux", mux.CpuPerPacket, "us");
            if (coturn is not null)
            {
                var direct = await MeasureAsync(packets, viaMux: true, turn: null);
                double turnCpu0 = coturn.CpuSeconds();
                var relayed = await MeasureAsync(packets, viaMux: true, turn: coturn);
                double turnCpu = coturn.CpuSeconds() - turnCpu0;
                Add(round, "turn: direct", direct.Rate / 1e3, "k packets/s");
                Add(round, "turn: via coturn (ChannelData)", relayed.Rate / 1e3, "k packets/s");
                Add(round, "turn: ratio relayed / direct", relayed.Rate / direct.Rate, "x");
                Add(round, "turn: CPU per packet direct", direct.CpuPerPacket, "us");
                Add(round, "turn: CPU per packet relayed (ours)", relayed.CpuPerPacket, "us");
                Add(round, "turn: CPU per packet coturn", turnCpu * 1e6 / packets, "us");
                Add(round, "turn: packets lost relayed", relayed.Lost, "");
            }
        }
        Console.WriteLine();
        Console.WriteLine("| metric | median | min–max |");
        Console.WriteLine("|---|---|---|");
        foreach (var (name, list) in values)
        {
            list.Sort();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {list[list.Count / 2]:F3} | {list[0]:F3}–{list[^1]:F3} |"));
        }
        return 0;
    }

    private readonly record struct Result(double Rate, double CpuPerPacket, int Lost);

    private static async Task<Result> MeasureAsync(int packets, bool viaMux, Coturn? turn)
    {
        IDatagramBind receiverBind = UdpDatagramBind.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        UdpMux? receiverMux = viaMux ? UdpMux.Create(receiverBind) : null;
        IDatagramBind receiver = receiverMux?.OpenDtlsBind() ?? receiverBind;
        await using UdpMux sender = UdpMux.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        TurnAllocation? allocation = null;
        EndPoint target = receiver.LocalEndPoint;
        if (turn is not null)
        {
            allocation = await TurnAllocation.AllocateAsync(sender, new TurnClientOptions { Server = turn.EndPoint, Username = Coturn.User, Password = Coturn.Password });
            target = await allocation.BindChannelAsync((IPEndPoint)receiver.LocalEndPoint);
        }
        var packet = new byte[PacketSize];
        Random.Shared.NextBytes(packet);
        packet[0] = 23;   // DTLS application data: the mux's DTLS class
        using var inFlight = new SemaphoreSlim(Window, Window);
        using var stop = new CancellationTokenSource();
        int received = 0;
        Task reader = Task.Run(async () =>
        {
            var buffer = new byte[2048];
            try
            {
                while (true)
                {
                    await receiver.ReceivePacketAsync(buffer, stop.Token);
                    Interlocked.Increment(ref received);
                    inFlight.Release();
                }
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
            }
        });
        int lost = 0;
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < packets; i++)
        {
            if (!await inFlight.WaitAsync(TimeSpan.FromSeconds(1)))
            {
                lost += Window - inFlight.CurrentCount;   // the window's packets were dropped (a full buffer): refill it
                inFlight.Release(Window - inFlight.CurrentCount);
                await inFlight.WaitAsync();
            }
            await sender.SendAsync(target, packet);
        }
        while (Volatile.Read(ref received) + lost < packets && clock.Elapsed < TimeSpan.FromSeconds(120))
        {
            if (!await inFlight.WaitAsync(TimeSpan.FromSeconds(1)))
            {
                lost = packets - Volatile.Read(ref received);
            }
        }
        var elapsed = clock.Elapsed;
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu0;
        await stop.CancelAsync();
        if (allocation is not null)
        {
            await allocation.DisposeAsync();
        }
        if (receiverMux is not null)
        {
            await receiver.DisposeAsync();
            await receiverMux.DisposeAsync();
        }
        else
        {
            await receiverBind.DisposeAsync();
        }
        await reader;
        return new Result(received / elapsed.TotalSeconds, cpu.TotalMicroseconds / packets, lost);
    }

    /// <summary>coturn on 127.0.0.1 at a free port for the TURN rows; killed by PID.</summary>
    private sealed class Coturn : IAsyncDisposable
    {
        public const string User = "bench";
        public const string Password = "bench-secret";

        private readonly Process _process;
        private readonly string _db;

        private Coturn(Process process, int port, string db)
        {
            _process = process;
            EndPoint = new IPEndPoint(IPAddress.Loopback, port);
            _db = db;
        }

        public IPEndPoint EndPoint { get; }

        public static Coturn? TryStart()
        {
            string? path = new[] { "/usr/bin/turnserver", "/usr/sbin/turnserver" }.FirstOrDefault(File.Exists);
            if (path is null)
            {
                return null;
            }
            int port;
            using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
            {
                probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                port = ((IPEndPoint)probe.LocalEndPoint!).Port;
            }
            string db = Path.Combine(Path.GetTempPath(), $"pinhole-bench-coturn-{Environment.ProcessId}.sqlite");
            var info = new ProcessStartInfo(path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (string a in new[]
            {
                "-n", "--listening-ip=127.0.0.1", $"--listening-port={port}", "--relay-ip=127.0.0.1", "--lt-cred-mech",
                $"--user={User}:{Password}", "--realm=bench.test", "--allow-loopback-peers", "--no-tls", "--no-dtls", "--no-cli",
                "--no-tcp-relay", "--log-file=stdout", "--simple-log", $"--userdb={db}", "--pidfile=" + db + ".pid",
            })
            {
                info.ArgumentList.Add(a);
            }
            Process process = Process.Start(info)!;
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var coturn = new Coturn(process, port, db);
            coturn.WaitReady();
            return coturn;
        }

        /// <summary>coturn's user + system CPU seconds so far (/proc/PID/stat, clock ticks of 1/100 s).</summary>
        public double CpuSeconds()
        {
            string[] fields = File.ReadAllText($"/proc/{_process.Id}/stat").Split(')')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
        }

        public async ValueTask DisposeAsync()
        {
            _process.Kill();
            await _process.WaitForExitAsync();
            _process.Dispose();
            File.Delete(_db);
            File.Delete(_db + ".pid");
        }

        private void WaitReady()
        {
            UdpMux mux = UdpMux.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            var clock = Stopwatch.StartNew();
            try
            {
                while (true)
                {
                    try
                    {
                        mux.Stun.BindingAsync(EndPoint).GetAwaiter().GetResult();
                        return;
                    }
                    catch (PeerException) when (clock.Elapsed < TimeSpan.FromSeconds(20))
                    {
                    }
                }
            }
            finally
            {
                mux.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
        }
    }
}
