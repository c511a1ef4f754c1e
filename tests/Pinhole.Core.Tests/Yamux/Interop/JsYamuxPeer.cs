using System.Globalization;

namespace Pinhole.Core.Tests.Yamux.Interop;

/// <summary>Runs yamux-echo-peer.mjs (js-libp2p's yamux) when node and the npm package are available.</summary>
internal sealed class JsYamuxPeer : IAsyncDisposable
{
    private const string Package = "@chainsafe/libp2p-yamux";
    private readonly ExternalProcess _process;

    private JsYamuxPeer(ExternalProcess process, int port)
    {
        _process = process;
        // Closing stdin ends the script; ExternalProcess kills it (its own PID only) if it lingers.
        _process.StopGrace = TimeSpan.FromSeconds(5);
        Port = port;
    }

    /// <summary>The js peer's listening port (0 when it dialed us).</summary>
    public int Port { get; }

    /// <summary>Why the interop test cannot run here, or null if it can.</summary>
    public static string? Unavailable
    {
        get
        {
            if (Tools.Find("node") is null)
            {
                return "node is not installed";
            }
            if (FindModules() is null)
            {
                return $"npm package {Package} 6.x (with it-pipe, stream-to-it, @libp2p/logger) not found: run scripts/setup-test-deps.sh (installs tests/npm/yamux) or set PINHOLE_NODE_MODULES";
            }
            return FindScript() is null ? "yamux-echo-peer.mjs not found" : null;
        }
    }

    /// <summary>Starts the js peer: listening (yamux server) or, with <paramref name="dialPort"/>, dialing us (yamux client).</summary>
    public static async Task<JsYamuxPeer> StartAsync(int? dialPort = null)
    {
        List<string> arguments = [FindScript()!, FindModules()!];
        if (dialPort is { } port)
        {
            arguments.Add(port.ToString(CultureInfo.InvariantCulture));
        }
        var process = ExternalProcess.Start(Tools.Require("node"), arguments);
        if (dialPort is not null)
        {
            return new JsYamuxPeer(process, 0);
        }
        try
        {
            // Throws with the peer's output if it exits or stays silent instead.
            var line = await process.WaitForLineAsync(l => l.StartsWith("PORT ", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
            return new JsYamuxPeer(process, int.Parse(line[5..], CultureInfo.InvariantCulture));
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
    }

    public ValueTask DisposeAsync() => _process.DisposeAsync();

    private static string? FindModules()
    {
        var configured = Environment.GetEnvironmentVariable("PINHOLE_NODE_MODULES");
        if (!string.IsNullOrEmpty(configured) && Directory.Exists(Path.Combine(configured, Package)))
        {
            return configured;
        }
        // scripts/setup-test-deps.sh installs it in tests/npm/yamux.
        var modules = RepoPaths.TryRoot is { } root ? Path.Combine(root, "tests", "npm", "yamux", "node_modules") : null;
        return modules is not null && Directory.Exists(Path.Combine(modules, Package)) ? modules : null;
    }

    private static string? FindScript()
    {
        var script = RepoPaths.TryRoot is { } root ? Path.Combine(root, "tests", "Pinhole.Core.Tests", "Yamux", "Interop", "yamux-echo-peer.mjs") : null;
        return script is not null && File.Exists(script) ? script : null;
    }
}
