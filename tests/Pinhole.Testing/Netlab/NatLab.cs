using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace Pinhole.Testing.Netlab;

/// <summary>
/// A NAT lab made for one test out of guarded network namespaces (root only; see README.md):
/// <code>
///                internet segment P.0/24 (bridge br0 in namespace "inet", P.1)
///     ┌──────────────┬──────────────────┬───────────────────┬──────────────┐
///  server P.10+P.11  router N: wan P.(100+N)   cgn: wan P.(100+N)   public host P.(100+N)
///  (coturn)          lan 10.N.0.1/24          lan 100.64.N.1 ── home router 100.64.N.2, lan 10.N.0.1
///                    host 10.N.0.2…            host 10.N.0.2…
/// </code>
/// Routers drop unsolicited inbound packets on their WAN side (as real ones do); the NAT type sets the
/// translation. Everything is torn down on dispose: programs first (by the PIDs the lab started), then namespaces.
/// </summary>
public sealed class NatLab : IAsyncDisposable
{
    /// <summary>coturn's static user.</summary>
    public const string TurnUser = "pinhole";

    /// <summary>coturn's password for <see cref="TurnUser"/>.</summary>
    public const string TurnPassword = "pinhole-lab-secret";

    /// <summary>coturn's realm.</summary>
    public const string TurnRealm = "pinhole.lab";

    /// <summary>STUN/TURN port on both server addresses; RFC 5780's other port is this + 1.</summary>
    public const int StunPort = 3478;

    /// <summary>The port miniupnpd serves UPnP on (rootDesc at http://gateway:5000/rootDesc.xml).</summary>
    public const int UpnpHttpPort = 5000;

    private readonly List<NetworkNamespace> _namespaces = [];
    private readonly List<ExternalProcess> _processes = [];
    private readonly List<string> _files = [];
    private readonly List<LabSite> _sites = [];
    private readonly NetnsGuard _guard;
    private int _disposed;

    private NatLab(NatLabOptions options)
    {
        Options = options;
        Prefix = options.InternetPrefix;
        _guard = IsInLabGuard(Prefix) ? NetnsGuard.Lab : NetnsGuard.Lab.With([Prefix + ".0/24"]);
        ServerAddress = Public(10);
        ServerOtherAddress = Public(11);
    }

    /// <summary>Why a lab cannot be built here (no root, no namespaces, a tool missing), or null.</summary>
    public static string? UnavailableReason(bool coturn = false, bool portMapping = false) =>
        NetworkNamespace.UnavailableReason
        ?? Tools.MissingReason(["conntrack", "ss", .. coturn || portMapping ? new[] { "turnserver" } : [], .. portMapping ? new[] { "miniupnpd" } : []]);

    /// <summary>What the lab was built from.</summary>
    public NatLabOptions Options { get; }

    /// <summary>The internet segment's first three octets.</summary>
    public string Prefix { get; }

    /// <summary>The internet segment's namespace (a bridge).</summary>
    public NetworkNamespace Internet { get; private set; } = null!;

    /// <summary>The server host on the internet segment (coturn runs here), with two addresses.</summary>
    public LabHost Server { get; private set; } = null!;

    /// <summary>The server's first address (P.10).</summary>
    public IPAddress ServerAddress { get; }

    /// <summary>The server's second address (P.11), for RFC 5780.</summary>
    public IPAddress ServerOtherAddress { get; }

    /// <summary>coturn's STUN/TURN address (P.10:3478).</summary>
    public IPEndPoint StunServer => new(ServerAddress, StunPort);

    /// <summary>coturn's RFC 5780 other address (P.11:3479).</summary>
    public IPEndPoint StunOtherAddress => new(ServerOtherAddress, StunPort + 1);

    /// <summary>coturn, when started.</summary>
    public ExternalProcess? Coturn { get; private set; }

    /// <summary>The sites in the order given.</summary>
    public IReadOnlyList<LabSite> Sites => _sites;

    /// <summary>How long <see cref="CreateAsync"/> took (namespaces, links, rules, servers ready).</summary>
    public TimeSpan SetupTime { get; private set; }

    /// <summary>The site named <paramref name="name"/>.</summary>
    public LabSite this[string name] => _sites.Single(s => s.Name == name);

    /// <summary>Builds the lab; on any failure tears down what was built and rethrows.</summary>
    public static async Task<NatLab> CreateAsync(NatLabOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Sites.Select(s => s.Name).Distinct().Count() != options.Sites.Count)
        {
            throw new ArgumentException("Site names must be distinct.", nameof(options));
        }
        if (options.Sites.Count > 99)
        {
            throw new ArgumentException("At most 99 sites.", nameof(options));
        }
        if (UnavailableReason(options.Coturn, options.Sites.Any(s => s.PortMapping)) is { } reason)
        {
            throw new InvalidOperationException("The NAT lab cannot run here: " + reason);
        }
        var lab = new NatLab(options);
        var clock = Stopwatch.StartNew();
        try
        {
            await lab.BuildAsync().ConfigureAwait(false);
            lab.SetupTime = clock.Elapsed;
            return lab;
        }
        catch
        {
            await lab.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>An address on the internet segment (P.<paramref name="last"/>).</summary>
    public IPAddress Public(int last) => IPAddress.Parse(string.Create(CultureInfo.InvariantCulture, $"{Prefix}.{last}"));

    /// <summary>Stops every program the lab started (by PID), then deletes every namespace it made.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        List<ExternalProcess> processes;
        lock (_processes)
        {
            processes = [.. _processes];
            processes.AddRange(_sites.Select(s => s.PortMapper).OfType<ExternalProcess>());
        }
        foreach (ExternalProcess p in processes.Distinct())
        {
            p.Kill();
        }
        await Task.WhenAll(processes.Distinct().Select(p => p.DisposeAsync().AsTask())).ConfigureAwait(false);
        List<NetworkNamespace> namespaces;
        lock (_namespaces)
        {
            namespaces = [.. _namespaces];
        }
        await Task.WhenAll(namespaces.Select(n => n.DisposeAsync().AsTask())).ConfigureAwait(false);
        foreach (string file in _files)
        {
            try
            {
                File.Delete(file);
            }
            catch (IOException)
            {
            }
        }
    }

    private static bool IsInLabGuard(string prefix) => prefix is "203.0.113" or "198.51.100" or "192.0.2";

    private async Task BuildAsync()
    {
        Internet = await NamespaceAsync("inet").ConfigureAwait(false);
        await IpBatchAsync(Internet, "link add br0 type bridge", "link set br0 up", $"addr add {Prefix}.1/24 dev br0").ConfigureAwait(false);
        NetworkNamespace server = await NamespaceAsync("srv").ConfigureAwait(false);
        await JoinInternetAsync(server, "ws").ConfigureAwait(false);
        await IpBatchAsync(server, $"addr add {ServerAddress}/24 dev eth0", $"addr add {ServerOtherAddress}/24 dev eth0").ConfigureAwait(false);
        Server = new LabHost("server", server, ServerAddress, Public(1));

        var sites = new LabSite[Options.Sites.Count];
        await Task.WhenAll(Options.Sites.Select((s, i) => BuildSiteAsync(s, i + 1).ContinueWith(t => sites[i] = t.Result, TaskScheduler.Default))).ConfigureAwait(false);
        _sites.AddRange(sites);

        bool portMapping = _sites.Any(s => s.Options.PortMapping);
        if (Options.Coturn || portMapping)
        {
            await StartCoturnAsync().ConfigureAwait(false);
        }
        foreach (LabSite site in _sites.Where(s => s.Options.PortMapping))
        {
            site.StartPortMapper = () => StartMiniupnpdAsync(site);
            site.PortMapper = await site.StartPortMapper().ConfigureAwait(false);
        }
    }

    private async Task<LabSite> BuildSiteAsync(LabSiteOptions options, int n)
    {
        IPAddress wan = Public(100 + n);
        string tag = string.Create(CultureInfo.InvariantCulture, $"{n}");
        if (options.Nat == NatType.Public)
        {
            NetworkNamespace hostNs = await NamespaceAsync($"p{tag}").ConfigureAwait(false);
            await JoinInternetAsync(hostNs, $"w{tag}").ConfigureAwait(false);
            await IpBatchAsync(hostNs, $"addr add {wan}/24 dev eth0").ConfigureAwait(false);
            return new LabSite(options, n, wan, null, null, [new LabHost($"{options.Name}1", hostNs, wan, Public(1))]);
        }

        NetworkNamespace router = await NamespaceAsync($"r{tag}").ConfigureAwait(false);
        await JoinInternetAsync(router, $"w{tag}", "wan").ConfigureAwait(false);
        await IpBatchAsync(router, $"addr add {wan}/24 dev wan").ConfigureAwait(false);
        NetworkNamespace home = router;
        if (options.Nat == NatType.DoubleNat)
        {
            home = await NamespaceAsync($"h{tag}").ConfigureAwait(false);
            await NetworkNamespace.ConnectAsync(router, "lan", home, "wan").ConfigureAwait(false);
            await IpBatchAsync(router, $"addr add 100.64.{n}.1/24 dev lan").ConfigureAwait(false);
            await IpBatchAsync(home, $"addr add 100.64.{n}.2/24 dev wan", $"route add default via 100.64.{n}.1").ConfigureAwait(false);
            await ConfigureRouterAsync(router, NatType.Easy, options, null, wan).ConfigureAwait(false);
        }
        await IpBatchAsync(home, "link add lan type bridge", "link set lan up", $"addr add 10.{n}.0.1/24 dev lan").ConfigureAwait(false);
        var hosts = new List<LabHost>();
        for (int k = 0; k < options.Hosts; k++)
        {
            NetworkNamespace hostNs = await NamespaceAsync(string.Create(CultureInfo.InvariantCulture, $"s{tag}h{k + 1}")).ConfigureAwait(false);
            string port = string.Create(CultureInfo.InvariantCulture, $"lh{k + 1}");
            await NetworkNamespace.ConnectAsync(home, port, hostNs, "eth0").ConfigureAwait(false);
            IPAddress address = IPAddress.Parse(string.Create(CultureInfo.InvariantCulture, $"10.{n}.0.{k + 2}"));
            await IpBatchAsync(home, $"link set {port} master lan").ConfigureAwait(false);
            await IpBatchAsync(hostNs, $"addr add {address}/24 dev eth0", $"route add default via 10.{n}.0.1").ConfigureAwait(false);
            hosts.Add(new LabHost(string.Create(CultureInfo.InvariantCulture, $"{options.Name}{k + 1}"), hostNs, address, IPAddress.Parse($"10.{n}.0.1")));
        }
        IPAddress homeWan = options.Nat == NatType.DoubleNat ? IPAddress.Parse($"100.64.{n}.2") : wan;
        await ConfigureRouterAsync(home, options.Nat == NatType.DoubleNat ? NatType.Easy : options.Nat, options, hosts[0].Address, homeWan).ConfigureAwait(false);
        return new LabSite(options, n, wan, router, home, hosts);
    }

    private async Task ConfigureRouterAsync(NetworkNamespace router, NatType nat, LabSiteOptions options, IPAddress? firstHost, IPAddress wan)
    {
        await router.SysctlAsync("net.ipv4.ip_forward", "1").ConfigureAwait(false);
        await router.NftAsync(LabRules.Router(nat, firstHost, wan, options.PortMapping ? [ServerAddress, ServerOtherAddress] : null)).ConfigureAwait(false);
        if (options.UdpTimeout is { } timeout)
        {
            string seconds = ((int)Math.Max(1, timeout.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            await router.ExecAsync("sysctl", "-q", "-w", $"net.netfilter.nf_conntrack_udp_timeout={seconds}", $"net.netfilter.nf_conntrack_udp_timeout_stream={seconds}").ConfigureAwait(false);
        }
    }

    private async Task StartCoturnAsync()
    {
        string db = Path.Combine(Path.GetTempPath(), $"{Internet.Name}-turndb.sqlite");
        string pid = Path.Combine(Path.GetTempPath(), $"{Internet.Name}-turnserver.pid");
        _files.Add(db);
        _files.Add(pid);
        ExternalProcess coturn = Server.Start(Tools.Require("turnserver"),
        [
            "-n", $"--listening-ip={ServerAddress}", $"--listening-ip={ServerOtherAddress}",
            $"--listening-port={StunPort}", $"--alt-listening-port={StunPort + 1}", $"--relay-ip={ServerAddress}",
            "--lt-cred-mech", $"--user={TurnUser}:{TurnPassword}", $"--realm={TurnRealm}",
            "--no-tls", "--no-dtls", "--no-cli", "--log-file=stdout", "--simple-log", "--no-software-attribute",
            $"--userdb={db}", $"--pidfile={pid}", "--min-port=49152", "--max-port=65535",
        ]);
        Track(coturn);
        Coturn = coturn;
        await WaitForSocketsAsync(Server.Namespace, "-Hnul", [$"{ServerAddress}:{StunPort}", $"{ServerOtherAddress}:{StunPort}", $"{ServerAddress}:{StunPort + 1}", $"{ServerOtherAddress}:{StunPort + 1}"], coturn).ConfigureAwait(false);
    }

    private async Task<ExternalProcess> StartMiniupnpdAsync(LabSite site)
    {
        string conf = Path.Combine(Path.GetTempPath(), $"{site.HomeRouter!.Name}-miniupnpd.conf");
        string pid = Path.Combine(Path.GetTempPath(), $"{site.HomeRouter.Name}-miniupnpd.pid");
        IPAddress? stun = site.Nat == NatType.DoubleNat ? null : ServerAddress;
        await File.WriteAllTextAsync(conf, LabRules.Miniupnpd(stun, StunPort, UpnpHttpPort)).ConfigureAwait(false);
        lock (_files)
        {
            _files.Add(conf);
            _files.Add(pid);
        }
        ExternalProcess process = site.HomeRouter.Start(Tools.Require("miniupnpd"), ["-d", "-f", conf, "-P", pid]);
        process.StopGrace = TimeSpan.Zero;
        Track(process);
        await WaitForSocketsAsync(site.HomeRouter, "-Hnltu", [$":{UpnpHttpPort}", $"{site.Gateway}:5351"], process).ConfigureAwait(false);
        return process;
    }

    private static async Task WaitForSocketsAsync(NetworkNamespace ns, string ssFlags, string[] needles, ExternalProcess owner)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            ProcessResult ss = await ns.TryExecAsync("ss", ssFlags).ConfigureAwait(false);
            if (needles.All(n => ss.StandardOutput.Contains(n, StringComparison.Ordinal)))
            {
                return;
            }
            if (owner.HasExited)
            {
                throw new InvalidOperationException($"{owner.Description} exited with {owner.ExitCode} before it listened.\n{owner.Output()}");
            }
            if (deadline.Elapsed > TimeSpan.FromSeconds(60))
            {
                throw new TimeoutException($"{owner.Description} did not listen on {string.Join(", ", needles)} within 60 s.\n{ss.StandardOutput}\n{owner.Output()}");
            }
            await Task.Delay(25).ConfigureAwait(false);
        }
    }

    private async Task<NetworkNamespace> NamespaceAsync(string role)
    {
        NetworkNamespace ns = await NetworkNamespace.CreateAsync(role, _guard).ConfigureAwait(false);
        lock (_namespaces)
        {
            _namespaces.Add(ns);
        }
        return ns;
    }

    private async Task JoinInternetAsync(NetworkNamespace ns, string internetSide, string inside = "eth0")
    {
        await NetworkNamespace.ConnectAsync(Internet, internetSide, ns, inside).ConfigureAwait(false);
        await IpBatchAsync(Internet, $"link set {internetSide} master br0").ConfigureAwait(false);
    }

    private void Track(ExternalProcess process)
    {
        lock (_processes)
        {
            _processes.Add(process);
        }
    }

    private static async Task IpBatchAsync(NetworkNamespace ns, params string[] lines)
    {
        string file = Path.Combine(Path.GetTempPath(), $"{ns.Name}-{Guid.NewGuid():N}.ip");
        await File.WriteAllLinesAsync(file, lines).ConfigureAwait(false);
        try
        {
            (await ExternalProcess.RunAsync("ip", ["-n", ns.Name, "-b", file], TimeSpan.FromSeconds(20)).ConfigureAwait(false)).EnsureSuccess();
        }
        finally
        {
            File.Delete(file);
        }
    }
}
