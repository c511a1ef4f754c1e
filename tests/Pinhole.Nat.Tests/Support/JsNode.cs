using System.Text.Json;
using Pinhole.Testing;

namespace Pinhole.Nat.Tests.Support;

/// <summary>
/// A running tests/npm/libp2p/relay.mjs (real js-libp2p 3.3.11 + @libp2p/circuit-relay-v2 4.2.13), on the host or
/// inside a network namespace. Each stdout line is a JSON event; all are kept, so a wait never misses an earlier one.
/// Disposing closes stdin (the node stops itself) and kills the PID it started if it lingers.
/// </summary>
public sealed class JsNode : IAsyncDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private readonly ExternalProcess _process;
    private readonly List<JsonElement> _events = [];
    private readonly Task _pump;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _ended;

    private JsNode(ExternalProcess process)
    {
        _process = process;
        _pump = PumpAsync();
    }

    /// <summary>tests/npm/libp2p of this checkout.</summary>
    public static string PackageDirectory => RepoPaths.InRepo("tests", "npm", "libp2p");

    /// <summary>Why js-libp2p cannot run here, or null.</summary>
    public static string? SkipReason =>
        File.Exists(Path.Combine(PackageDirectory, "node_modules", ".bin", "node"))
        && Directory.Exists(Path.Combine(PackageDirectory, "node_modules", "@libp2p", "circuit-relay-v2"))
            ? null
            : "js-libp2p not installed in tests/npm/libp2p: run scripts/setup-test-deps.sh";

    private static string Node => Path.Combine(PackageDirectory, "node_modules", ".bin", "node");

    private static string Script => Path.Combine(PackageDirectory, "relay.mjs");

    private static Dictionary<string, string?> Environment() => new()
    {
        // js-libp2p logs through `debug`; opt in with PINHOLE_LIBP2P_DEBUG=libp2p:circuit-relay*.
        ["DEBUG"] = System.Environment.GetEnvironmentVariable("PINHOLE_LIBP2P_DEBUG"),
    };

    /// <summary>Starts relay.mjs on the host.</summary>
    public static JsNode Start(params string[] arguments) =>
        new(ExternalProcess.Start(Node, [Script, .. arguments], Environment(), PackageDirectory));

    /// <summary>Starts relay.mjs inside <paramref name="ns"/>.</summary>
    public static JsNode StartIn(NetworkNamespace ns, params string[] arguments) =>
        new(ns.Start(Node, [Script, .. arguments], Environment(), PackageDirectory));

    /// <summary>Runs relay.mjs to completion and returns its events.</summary>
    public static async Task<IReadOnlyList<JsonElement>> RunAsync(params string[] arguments)
    {
        await using var node = Start(arguments);
        await node._process.WaitForExitAsync(DefaultTimeout);
        await node._pump.WaitAsync(DefaultTimeout);
        return node.Events;
    }

    /// <summary>The PID started.</summary>
    public int ProcessId => _process.Id;

    /// <summary>Every event so far.</summary>
    public IReadOnlyList<JsonElement> Events
    {
        get { lock (_events) { return [.. _events]; } }
    }

    /// <summary>The first event named <paramref name="name"/> (from the start) that <paramref name="match"/> accepts.</summary>
    public async Task<JsonElement> WaitForEventAsync(string name, Func<JsonElement, bool>? match = null, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        while (true)
        {
            Task changed;
            lock (_events)
            {
                foreach (var e in _events)
                {
                    if (e.GetProperty("event").GetString() == name && (match is null || match(e)))
                    {
                        return e;
                    }
                }
                if (_ended)
                {
                    throw new InvalidOperationException($"relay.mjs exited before a matching '{name}' event.\n{Describe()}");
                }
                changed = _changed.Task;
            }
            try
            {
                await changed.WaitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"no '{name}' event from relay.mjs within {timeout ?? DefaultTimeout}.\n{Describe()}");
            }
        }
    }

    /// <summary>Events and stderr, for failure messages.</summary>
    public string Describe() => $"events:\n{string.Join('\n', Events.Select(e => e.GetRawText()))}\n{_process.Output()}";

    private async Task PumpAsync()
    {
        try
        {
            while (true)
            {
                string line;
                try
                {
                    line = await _process.WaitForLineAsync(static _ => true, TimeSpan.FromHours(1));
                }
                catch (Exception e) when (e is InvalidOperationException or TimeoutException)
                {
                    return;
                }
                JsonElement element;
                try
                {
                    element = JsonDocument.Parse(line).RootElement.Clone();
                }
                catch (JsonException)
                {
                    continue;
                }
                if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty("event", out _))
                {
                    continue;
                }
                lock (_events)
                {
                    _events.Add(element);
                    Pulse();
                }
            }
        }
        finally
        {
            lock (_events)
            {
                _ended = true;
                Pulse();
            }
        }
    }

    private void Pulse()
    {
        var previous = _changed;
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        previous.TrySetResult();
    }

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        await _pump.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
    }
}

/// <summary>A fact that needs js-libp2p (installed by scripts/setup-test-deps.sh, so it runs in CI).</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class JsFactAttribute : FactAttribute
{
    public JsFactAttribute()
    {
        Skip = JsNode.SkipReason;
    }
}

/// <summary>A fact that needs the NAT lab (root, namespaces, conntrack; tests/Pinhole.Testing/Netlab).</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class LabFactAttribute : FactAttribute
{
    public LabFactAttribute()
    {
        Skip = Pinhole.Testing.Netlab.NatLab.UnavailableReason();
    }
}

/// <summary>A fact that needs js-libp2p and the NAT lab.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class JsLabFactAttribute : FactAttribute
{
    public JsLabFactAttribute()
    {
        Skip = JsNode.SkipReason ?? Pinhole.Testing.Netlab.NatLab.UnavailableReason();
    }
}
