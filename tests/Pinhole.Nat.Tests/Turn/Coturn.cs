using System.Diagnostics;
using System.Globalization;
using System.Net;
using Pinhole.Testing;

namespace Pinhole.Nat.Tests.Turn;

/// <summary>
/// A real coturn (<c>turnserver</c>) on 127.0.0.1 at a free port, with one static long-term user, loopback peers
/// allowed (everything in these tests is on loopback) and no TLS/DTLS listeners. Ready once it answers a STUN
/// Binding request; disposing kills exactly the PID it started.
/// </summary>
internal sealed class Coturn : IAsyncDisposable
{
    public const string User = "pinhole";
    public const string Password = "coturn-test-secret";
    public const string ServerRealm = "pinhole.test";

    private readonly string _db;
    private readonly string _pid;
    private readonly string[] _extra;
    private ExternalProcess _process;

    private Coturn(int port, string[] extra)
    {
        Port = port;
        _extra = extra;
        string stem = Path.Combine(Path.GetTempPath(), $"pinhole-coturn-{Environment.ProcessId}-{port}");
        _db = stem + ".sqlite";
        _pid = stem + ".pid";
        _process = Launch();
    }

    public int Port { get; }

    public IPEndPoint EndPoint => new(IPAddress.Loopback, Port);

    /// <summary>What coturn logged so far.</summary>
    public string Log => _process.StandardOutput;

    /// <summary>Starts coturn with extra command-line options (e.g. <c>--user-quota=1</c>) and waits until it serves STUN.</summary>
    public static async Task<Coturn> StartAsync(params string[] extra)
    {
        // A free port can be taken by another process between FreePort and coturn's bind (coturn then retries that
        // bind forever): that is a lost race for the port, not slowness, so it gets a new port.
        for (int attempt = 1; ; attempt++)
        {
            var coturn = new Coturn(FreePort.TcpAndUdp(), extra); // TURN over TCP listens on the same port number
            try
            {
                await coturn.WaitReadyAsync();
                return coturn;
            }
            catch (PortTakenException) when (attempt < 5)
            {
                await coturn.DisposeAsync();
            }
            catch
            {
                await coturn.DisposeAsync();
                throw;
            }
        }
    }

    private sealed class PortTakenException(string message) : Exception(message);

    public TurnClientOptions Options(string? password = null) => new()
    {
        Server = EndPoint,
        Username = User,
        Password = password ?? Password,
    };

    /// <summary>Kills coturn (it forgets every allocation and nonce) and starts it again on the same port.</summary>
    public async Task RestartAsync()
    {
        await _process.DisposeAsync();
        _process = Launch();
        await WaitReadyAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        File.Delete(_db);
        File.Delete(_pid);
    }

    private ExternalProcess Launch()
    {
        File.Delete(_db);
        ExternalProcess process = ExternalProcess.Start(Tools.Require("turnserver"),
        [
            "-n", "--listening-ip=127.0.0.1", $"--listening-port={Port.ToString(CultureInfo.InvariantCulture)}", "--relay-ip=127.0.0.1", "--min-port=61000", "--max-port=65535",
            "--lt-cred-mech", $"--user={User}:{Password}", $"--realm={ServerRealm}", "--allow-loopback-peers",
            .. _extra.Any(e => e.StartsWith("--cert=", StringComparison.Ordinal)) ? Array.Empty<string>() : ["--no-tls"], "--no-dtls", "--no-cli", "--no-tcp-relay", "--log-file=stdout", "--simple-log", "--no-software-attribute",
            $"--userdb={_db}", $"--pidfile={_pid}", .. _extra,
        ]);
        process.StopGrace = TimeSpan.Zero;
        return process;
    }

    // A Binding request answered is the readiness signal (coturn prints nothing reliable when its UDP listener is up).
    private async Task WaitReadyAsync()
    {
        await using UdpMux probe = UdpMux.Bind(new IPEndPoint(IPAddress.Loopback, 0), new UdpMuxOptions
        {
            StunClient = new StunClientOptions { InitialRetransmitTimeout = TimeSpan.FromMilliseconds(100), MaxSends = 2, FinalWaitMultiplier = 2 },
        });
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"turnserver exited with {_process.ExitCode} before serving.\n{_process.Output()}");
            }
            if (_process.StandardOutput.Contains("Cannot bind DTLS/UDP listener socket", StringComparison.Ordinal))
            {
                throw new PortTakenException($"turnserver cannot bind {EndPoint}: the port was taken.\n{_process.Output()}");
            }
            try
            {
                await probe.Stun.BindingAsync(EndPoint);
                return;
            }
            catch (PeerException) when (clock.Elapsed < TimeSpan.FromSeconds(20))
            {
            }
            catch (PeerException e)
            {
                throw new TimeoutException($"turnserver did not answer STUN on {EndPoint} within 20 s.\n{_process.Output()}", e);
            }
        }
    }
}
