using System.Collections.Concurrent;

namespace Pinhole.Membership.Internal;

/// <summary>
/// Decoded records by the SHA-256 of their encoding. Decoding is a pure function of the bytes and records are
/// immutable, so a process that holds many clients (a node in several networks, a simulation with a thousand members)
/// decodes and stores each record once instead of once per client. Entries are weak: a record nobody holds is
/// collected; the table is bounded and starts over when full.
/// </summary>
internal static class RecordMemo
{
    private const int MaxEntries = 1 << 18;
    private static readonly ConcurrentDictionary<Digest, WeakReference<NetworkRecord>> Records = new();

    public static bool TryGet(Digest key, out NetworkRecord record)
    {
        record = null!;
        return Records.TryGetValue(key, out var weak) && weak.TryGetTarget(out record!);
    }

    public static void Add(Digest key, NetworkRecord record)
    {
        if (Records.Count >= MaxEntries)
        {
            Records.Clear();
        }
        Records[key] = new WeakReference<NetworkRecord>(record);
    }

    public static void Clear() => Records.Clear();
}
