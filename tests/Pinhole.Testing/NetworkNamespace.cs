using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Pinhole.Testing;

/// <summary>
/// A Linux network namespace that a test made for itself (root only), with an nftables guard that drops every
/// packet it would send or forward to an address outside <see cref="NetnsGuard"/>'s prefixes, IPv6 off unless
/// asked for, and <c>lo</c> up. Names carry this process's PID, so parallel test runs never share one and a
/// later run can remove what a killed run left (<see cref="SweepStale"/>). Disposing deletes the namespace;
/// processes started in it are the caller's to stop first (<see cref="ExternalProcess"/> does on dispose).
/// </summary>
public sealed class NetworkNamespace : IAsyncDisposable
{
    private const string Prefix = "ph";
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(20);
    private static readonly Lazy<string?> Unavailable = new(Probe);
    private static int _counter;

    private int _disposed;

    private NetworkNamespace(string name) => Name = name;

    /// <summary>The namespace's name (under /run/netns).</summary>
    public string Name { get; }

    /// <summary>Why namespace tests cannot run here (not root, no ip/nft, namespaces refused), or null.</summary>
    public static string? UnavailableReason => Unavailable.Value;

    /// <summary>Creates a namespace named after <paramref name="role"/> (letters and digits, for messages).</summary>
    public static async Task<NetworkNamespace> CreateAsync(string role, NetnsGuard? guard = null, bool ipv6 = false)
    {
        if (UnavailableReason is { } reason)
        {
            throw new InvalidOperationException("Network namespaces are unavailable: " + reason);
        }
        SweepStale();
        var name = string.Create(CultureInfo.InvariantCulture, $"{Prefix}{Environment.ProcessId:x}-{Interlocked.Increment(ref _counter)}-{role}");
        await IpAsync("netns", "add", name).ConfigureAwait(false);
        var ns = new NetworkNamespace(name);
        try
        {
            await ns.ExecAsync("ip", "link", "set", "lo", "up").ConfigureAwait(false);
            await ns.SysctlAsync("net.ipv6.conf.all.disable_ipv6", ipv6 ? "0" : "1").ConfigureAwait(false);
            await ns.SysctlAsync("net.ipv6.conf.default.disable_ipv6", ipv6 ? "0" : "1").ConfigureAwait(false);
            await ns.ApplyGuardAsync(guard ?? NetnsGuard.Lab).ConfigureAwait(false);
            return ns;
        }
        catch
        {
            await ns.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Joins two namespaces with a veth pair made directly inside them (never in the root namespace, so
    /// interface names cannot collide with other tests). Both ends are left up.
    /// </summary>
    public static async Task ConnectAsync(NetworkNamespace a, string interfaceA, NetworkNamespace b, string interfaceB)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        await IpAsync("link", "add", interfaceA, "netns", a.Name, "type", "veth", "peer", "name", interfaceB, "netns", b.Name).ConfigureAwait(false);
        await a.ExecAsync("ip", "link", "set", interfaceA, "up").ConfigureAwait(false);
        await b.ExecAsync("ip", "link", "set", interfaceB, "up").ConfigureAwait(false);
    }

    /// <summary>Runs a command inside the namespace; throws with its output unless it exits 0.</summary>
    public async Task<ProcessResult> ExecAsync(params string[] command) => (await TryExecAsync(command).ConfigureAwait(false)).EnsureSuccess();

    /// <summary>Runs a command inside the namespace and returns whatever it did.</summary>
    public Task<ProcessResult> TryExecAsync(params string[] command) => TryExecAsync(CommandTimeout, command);

    /// <summary>Runs a command inside the namespace within <paramref name="timeout"/>.</summary>
    public Task<ProcessResult> TryExecAsync(TimeSpan timeout, params string[] command) =>
        ExternalProcess.RunAsync("ip", ["netns", "exec", Name, .. command], timeout);

    /// <summary>Starts a long-running program inside the namespace (<c>ip netns exec</c> execs it: the PID is the program's).</summary>
    public ExternalProcess Start(string program, IEnumerable<string> arguments, IReadOnlyDictionary<string, string?>? environment = null, string? workingDirectory = null) =>
        ExternalProcess.Start("ip", ["netns", "exec", Name, program, .. arguments], environment, workingDirectory);

    /// <summary>Adds an address (CIDR form, e.g. <c>10.1.0.2/24</c>) to an interface.</summary>
    public Task AddAddressAsync(string device, string cidr) => ExecAsync("ip", cidr.Contains(':', StringComparison.Ordinal) ? "-6" : "-4", "addr", "add", cidr, "dev", device, "nodad");

    /// <summary>Adds a route (<c>default</c> or a prefix) via a gateway.</summary>
    public Task AddRouteAsync(string destination, string gateway) => ExecAsync("ip", gateway.Contains(':', StringComparison.Ordinal) ? "-6" : "-4", "route", "add", destination, "via", gateway);

    /// <summary>Sets a sysctl inside the namespace (net.* keys are per namespace).</summary>
    public Task SysctlAsync(string key, string value) => ExecAsync("sysctl", "-q", "-w", $"{key}={value}");

    /// <summary>Loads an nftables ruleset (the text of <c>nft -f</c>) inside the namespace.</summary>
    public async Task NftAsync(string ruleset)
    {
        var file = Path.Combine(Path.GetTempPath(), $"{Name}-{Guid.NewGuid():N}.nft");
        await File.WriteAllTextAsync(file, ruleset).ConfigureAwait(false);
        try
        {
            await ExecAsync("nft", "-f", file).ConfigureAwait(false);
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>
    /// Creates a socket that lives in this namespace: it is made on a short-lived thread that entered the
    /// namespace (setns), and a socket stays in the namespace it was created in whichever thread uses it later.
    /// </summary>
    public Socket CreateSocket(AddressFamily family, SocketType type, ProtocolType protocol) => RunInside(() => new Socket(family, type, protocol));

    /// <summary>Runs <paramref name="action"/> on a fresh thread that has entered this namespace.</summary>
    public T RunInside<T>(Func<T> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        T? result = default;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var handle = File.OpenHandle($"/run/netns/{Name}", FileMode.Open, FileAccess.Read);
                if (SetNs((int)handle.DangerousGetHandle(), CloneNewNet) != 0)
                {
                    throw new InvalidOperationException($"setns({Name}) failed: errno {Marshal.GetLastPInvokeError()}");
                }
                result = action();
            }
            catch (Exception e)
            {
                error = e;
            }
        });
        thread.Start();
        thread.Join();
        if (error is not null)
        {
            throw new InvalidOperationException($"Running inside {Name} failed: {error.Message}", error);
        }
        return result!;
    }

    /// <summary>Deletes namespaces that earlier test processes (now gone) left behind.</summary>
    public static void SweepStale()
    {
        if (!Directory.Exists("/run/netns"))
        {
            return;
        }
        foreach (var path in Directory.GetFiles("/run/netns", Prefix + "*"))
        {
            var name = Path.GetFileName(path);
            var dash = name.IndexOf('-', StringComparison.Ordinal);
            if (dash <= Prefix.Length || !int.TryParse(name.AsSpan(Prefix.Length, dash - Prefix.Length), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }
            if (pid != Environment.ProcessId && !Directory.Exists($"/proc/{pid}"))
            {
                using var p = Process.Start(new ProcessStartInfo("ip", ["netns", "del", name]) { UseShellExecute = false });
                p?.WaitForExit(5000);
            }
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await ExternalProcess.RunAsync("ip", ["netns", "del", Name], CommandTimeout).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public override string ToString() => Name;

    private Task ApplyGuardAsync(NetnsGuard guard)
    {
        static string Set(IReadOnlyList<string> prefixes) => string.Join(", ", prefixes);
        var v4 = guard.Ipv4.Count == 0 ? "" : $"ip daddr {{ {Set(guard.Ipv4)} }} accept";
        var v6 = guard.Ipv6.Count == 0 ? "" : $"ip6 daddr {{ {Set(guard.Ipv6)} }} accept";
        // Output and forward: nothing this namespace sends or routes may reach an address the test did not assign.
        return NftAsync($$"""
            table inet pinhole_guard {
              chain guard_out {
                type filter hook output priority -200; policy drop;
                oifname "lo" accept
                {{v4}}
                {{v6}}
              }
              chain guard_fwd {
                type filter hook forward priority -200; policy drop;
                {{v4}}
                {{v6}}
              }
            }
            """);
    }

    private static Task IpAsync(params string[] arguments) => ExternalProcess.RunAsync("ip", arguments, CommandTimeout).ContinueWith(t => t.Result.EnsureSuccess(), TaskScheduler.Default);

    private static string? Probe()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "network namespaces need Linux";
        }
        if (!Tools.IsRoot)
        {
            return "network namespace tests need root (CI runs them as root)";
        }
        if (Tools.MissingReason("ip", "nft", "sysctl") is { } missing)
        {
            return missing;
        }
        var name = $"{Prefix}{Environment.ProcessId:x}-probe";
        using var add = Process.Start(new ProcessStartInfo("ip", ["netns", "add", name]) { UseShellExecute = false, RedirectStandardError = true });
        add!.WaitForExit(10_000);
        if (add.ExitCode != 0)
        {
            return "'ip netns add' failed: " + add.StandardError.ReadToEnd().Trim();
        }
        using var del = Process.Start(new ProcessStartInfo("ip", ["netns", "del", name]) { UseShellExecute = false });
        del!.WaitForExit(10_000);
        return null;
    }

    private const int CloneNewNet = 0x40000000;

    [DllImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static extern int SetNs(int fd, int nstype);
}

/// <summary>
/// The destinations a namespace may send to: addresses the test assigns inside its own namespaces. The
/// default is the lab's ranges: 10/8 and CGNAT 100.64/10 inside, the RFC 5737 documentation ranges as
/// "public" addresses, and for IPv6 ULA fd00::/8, documentation 2001:db8::/32 and link-local/multicast
/// on the link (neighbour discovery).
/// </summary>
public sealed record NetnsGuard(IReadOnlyList<string> Ipv4, IReadOnlyList<string> Ipv6)
{
    /// <summary>The lab default.</summary>
    public static NetnsGuard Lab { get; } = new(
        ["10.0.0.0/8", "100.64.0.0/10", "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"],
        ["fd00::/8", "2001:db8::/32", "fe80::/10", "ff02::/16"]);

    /// <summary>The lab default plus <paramref name="ipv4"/> and <paramref name="ipv6"/> prefixes.</summary>
    public NetnsGuard With(IEnumerable<string>? ipv4 = null, IEnumerable<string>? ipv6 = null) =>
        new([.. Ipv4, .. ipv4 ?? []], [.. Ipv6, .. ipv6 ?? []]);
}

/// <summary>A fact that needs network namespaces (root, ip, nft): it skips saying why where they are unavailable.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class NetnsFactAttribute : FactAttribute
{
    /// <summary>Also requires every tool named (e.g. turnserver, iperf3).</summary>
    public NetnsFactAttribute(params string[] tools)
    {
        Skip = NetworkNamespace.UnavailableReason ?? Tools.MissingReason(tools);
    }
}
