using System.ComponentModel;
using System.Runtime.InteropServices;

namespace Pinhole;

/// <summary>The soft and hard limits of open file descriptors (RLIMIT_NOFILE) of this process.</summary>
/// <param name="Soft">The limit in force: opening one more descriptor fails with EMFILE.</param>
/// <param name="Hard">The ceiling an unprivileged process may raise its soft limit to.</param>
public readonly record struct FileDescriptorLimit(ulong Soft, ulong Hard);

/// <summary>
/// Process-wide resource limits a long-running node should set at start. Every connection, handshake and
/// refusal costs a descriptor, and many systems start processes with a soft limit of 1024 while allowing far
/// more: a node that keeps the default runs out long before its memory or CPU does.
/// </summary>
public static class ProcessLimits
{
    private const int RlimitNofile = 7; // Linux
    private const int RlimitNofileMac = 8; // macOS, FreeBSD

    /// <summary>The current descriptor limits, or null where the platform has none (Windows).</summary>
    /// <exception cref="Win32Exception">getrlimit failed.</exception>
    public static FileDescriptorLimit? GetFileDescriptorLimit()
    {
        if (!IsPosix)
        {
            return null;
        }
        if (getrlimit(Resource, out var limit) != 0)
        {
            throw new Win32Exception(Marshal.GetLastPInvokeError(), "getrlimit(RLIMIT_NOFILE) failed");
        }
        return new FileDescriptorLimit(limit.Current, limit.Max);
    }

    /// <summary>
    /// Raises the soft descriptor limit to the hard limit (the daemon calls this once at start) and returns the
    /// limits now in force; null where the platform has none. Never lowers a limit. On macOS, where the hard limit
    /// may be "unlimited" but the kernel caps at <c>OPEN_MAX</c>, the soft limit is raised to 10240 at most.
    /// </summary>
    /// <exception cref="Win32Exception">getrlimit or setrlimit failed.</exception>
    public static FileDescriptorLimit? RaiseFileDescriptorLimit()
    {
        if (!IsPosix)
        {
            return null;
        }
        if (getrlimit(Resource, out var limit) != 0)
        {
            throw new Win32Exception(Marshal.GetLastPInvokeError(), "getrlimit(RLIMIT_NOFILE) failed");
        }
        var target = OperatingSystem.IsMacOS() ? Math.Min(limit.Max, 10240UL) : limit.Max;
        if (target > limit.Current)
        {
            var raised = new RLimit { Current = target, Max = limit.Max };
            if (setrlimit(Resource, in raised) != 0)
            {
                throw new Win32Exception(Marshal.GetLastPInvokeError(), $"setrlimit(RLIMIT_NOFILE, {target}) failed");
            }
            limit = raised;
        }
        return new FileDescriptorLimit(limit.Current, limit.Max);
    }

    private static bool IsPosix => OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD();

    private static int Resource => OperatingSystem.IsLinux() ? RlimitNofile : RlimitNofileMac;

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Max;
    }

#pragma warning disable SYSLIB1054 // LibraryImport would need unsafe code in this assembly; two calls at start do not need it.
    [DllImport("libc", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int getrlimit(int resource, out RLimit limit);

    [DllImport("libc", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int setrlimit(int resource, in RLimit limit);
#pragma warning restore SYSLIB1054
}
