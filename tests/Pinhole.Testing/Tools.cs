namespace Pinhole.Testing;

/// <summary>External programs the tests drive (openssl, coturn, miniupnpd, iperf3, ...).</summary>
public static class Tools
{
    /// <summary>The full path of <paramref name="tool"/> on PATH (or in /usr/sbin, /sbin), or null.</summary>
    public static string? Find(string tool)
    {
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "") + Path.PathSeparator + "/usr/sbin" + Path.PathSeparator + "/sbin";
        foreach (var dir in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, tool);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    /// <summary>Like <see cref="Find"/>, but throws a message that names the setup script.</summary>
    public static string Require(string tool) =>
        Find(tool) ?? throw new InvalidOperationException($"{tool} is not installed: run scripts/setup-test-deps.sh");

    /// <summary>Why a test needing all of <paramref name="tools"/> cannot run here, or null when it can.</summary>
    public static string? MissingReason(params string[] tools)
    {
        var missing = tools.Where(t => Find(t) is null).ToList();
        return missing.Count == 0 ? null : $"not installed: {string.Join(", ", missing)} (scripts/setup-test-deps.sh installs them)";
    }

    /// <summary>True when the process runs as root (uid 0).</summary>
    public static bool IsRoot => Environment.UserName == "root" || GetEuid() == 0;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "geteuid")]
    private static extern uint GetEuid();
}

/// <summary>A fact that skips, saying why, when an external program it needs is not installed.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class ToolFactAttribute : FactAttribute
{
    /// <summary>Requires every tool named.</summary>
    public ToolFactAttribute(params string[] tools)
    {
        if (Tools.MissingReason(tools) is { } reason)
        {
            Skip = reason;
        }
    }
}

/// <summary>A theory that skips, saying why, when an external program it needs is not installed.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class ToolTheoryAttribute : TheoryAttribute
{
    /// <summary>Requires every tool named.</summary>
    public ToolTheoryAttribute(params string[] tools)
    {
        if (Tools.MissingReason(tools) is { } reason)
        {
            Skip = reason;
        }
    }
}
