using System.IO.Enumeration;

namespace Pinhole.Connections;

/// <summary>
/// Keeps accept loops from taking a process's last file descriptors. The .NET runtime aborts the whole process
/// ("Out of memory.") when it cannot start a thread, and starting one needs a descriptor; a loaded machine makes
/// the thread pool start threads often. A listener that accepts until <c>accept()</c> fails with EMFILE leaves
/// none, and the next thread start kills the node. So every accepted socket first asks <see cref="HasRoom"/>:
/// while fewer than <see cref="Reserve"/> descriptors are free under the soft limit, the listener resets the newcomer
/// at once and evicts a stranger's handshake.
/// </summary>
/// <remarks>
/// Open descriptors are counted from <c>/proc/self/fd</c> (Linux) or <c>/dev/fd</c> (macOS, FreeBSD); elsewhere the
/// guard is off. Counting costs a directory read, so between counts the estimate is the last count plus every
/// socket accepted since (an upper bound as far as accepts go); a count is taken when the estimate reaches the
/// threshold (at most every <see cref="MinRecount"/>) and at least every <see cref="MaxRecount"/>. The clock
/// here only paces the counting; what is admitted never depends on it.
/// </remarks>
internal sealed class DescriptorReserve
{
    private static readonly TimeSpan MinRecount = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan MaxRecount = TimeSpan.FromSeconds(1);

    private static readonly EnumerationOptions Entries = new()
    {
        AttributesToSkip = 0, // no stat per entry
        IgnoreInaccessible = true,
        RecurseSubdirectories = false,
        ReturnSpecialDirectories = false,
    };

    private readonly Func<long?> _countOpen;
    private readonly Func<ulong?> _softLimit;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private long _counted = -1;
    private long _countedAt;
    private long _acceptedSince;
    private long _threshold = long.MaxValue;

    internal DescriptorReserve(Func<long?> countOpen, Func<ulong?> softLimit, TimeProvider time)
    {
        _countOpen = countOpen;
        _softLimit = softLimit;
        _time = time;
    }

    /// <summary>The guard of this process (the process's clock paces its counting).</summary>
    public static DescriptorReserve Process { get; } = new(CountOpenDescriptors, () => ProcessLimits.GetFileDescriptorLimit()?.Soft, TimeProvider.System);

    /// <summary>Descriptors kept free for the runtime and everything else: a sixteenth of the soft limit, 32 to 1,024.</summary>
    public static long Reserve(ulong softLimit) => Math.Clamp((long)Math.Min(softLimit / 16, long.MaxValue), 32, 1024);

    /// <summary>The last count of open descriptors (-1 before the first), for tests and diagnostics.</summary>
    public long LastCount
    {
        get { lock (_lock) { return _counted; } }
    }

    /// <summary>
    /// Called once for each socket just accepted (it counts): true if the process still has its reserve free,
    /// false if the caller must give a descriptor back.
    /// </summary>
    public bool HasRoom()
    {
        lock (_lock)
        {
            var now = _time.GetTimestamp();
            var sinceCount = _counted < 0 ? TimeSpan.MaxValue : _time.GetElapsedTime(_countedAt, now);
            _acceptedSince++;
            if (_counted >= 0 && _counted + _acceptedSince < _threshold && sinceCount < MaxRecount)
            {
                return true;
            }
            if (_counted >= 0 && sinceCount < MinRecount)
            {
                return _counted + _acceptedSince < _threshold; // counted a moment ago: assume the worst in between
            }
            Recount(now);
            return _counted < _threshold;
        }
    }

    /// <summary>A socket that <see cref="HasRoom"/> counted was closed again at once (synchronously).</summary>
    public void Returned()
    {
        lock (_lock)
        {
            if (_acceptedSince > 0)
            {
                _acceptedSince--;
            }
        }
    }

    private void Recount(long now)
    {
        var limit = _softLimit();
        long? open;
        try
        {
            open = limit is null ? null : _countOpen();
        }
        catch (IOException)
        {
            open = (long)Math.Min(limit!.Value, long.MaxValue); // not even a descriptor to read the directory with: full
        }
        catch (UnauthorizedAccessException)
        {
            open = null;
        }
        _countedAt = now;
        _acceptedSince = 0;
        if (limit is null || open is null)
        {
            _counted = 0;
            _threshold = long.MaxValue; // no limit, or no way to count: the guard is off
            return;
        }
        _counted = open.Value;
        var soft = (long)Math.Min(limit.Value, long.MaxValue);
        _threshold = soft - Reserve(limit.Value);
    }

    /// <summary>Open descriptors of this process, or null where they cannot be listed.</summary>
    internal static long? CountOpenDescriptors()
    {
        var directory = OperatingSystem.IsLinux() ? "/proc/self/fd"
            : OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD() ? "/dev/fd"
            : null;
        if (directory is null || !Directory.Exists(directory))
        {
            return null;
        }
        long count = 0;
        foreach (var _ in new FileSystemEnumerable<bool>(directory, static (ref FileSystemEntry _) => true, Entries))
        {
            count++;
        }
        return count;
    }
}
