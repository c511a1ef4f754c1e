using System.Buffers.Binary;
using System.Globalization;
using System.Net.Sockets;

namespace Pinhole.Node.Api;

/// <summary>Who is at the other end of a Unix socket (Linux <c>SO_PEERCRED</c>), and who we are.</summary>
internal readonly record struct PeerCredentials(int Pid, int Uid, int Gid)
{
    private const int SolSocket = 1;
    private const int SoPeerCred = 17;

    private static readonly Lazy<int?> Own = new(ReadEffectiveUid);

    /// <summary>The effective uid of this process, or null if it cannot be read (then every caller is refused).</summary>
    public static int? OwnUid => Own.Value;

    /// <summary>The kernel's record of the connecting process (taken at connect time), or null if unavailable.</summary>
    public static PeerCredentials? Of(Socket socket)
    {
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; }: three native-endian 32-bit integers.
        Span<byte> buffer = stackalloc byte[12];
        try
        {
            var length = socket.GetRawSocketOption(SolSocket, SoPeerCred, buffer);
            if (length != 12)
            {
                return null;
            }
        }
        catch (Exception e) when (e is SocketException or PlatformNotSupportedException or ObjectDisposedException)
        {
            return null;
        }
        return new PeerCredentials(
            BinaryPrimitives.ReadInt32LittleEndian(buffer),
            BinaryPrimitives.ReadInt32LittleEndian(buffer[4..]),
            BinaryPrimitives.ReadInt32LittleEndian(buffer[8..]));
    }

    /// <summary>Only the node's own user and root may use the API.</summary>
    public bool IsAllowed(int? own) => own is { } me && (Uid == me || Uid == 0);

    private static int? ReadEffectiveUid()
    {
        // "Uid:\treal\teffective\tsaved\tfs" in /proc/self/status; no P/Invoke needed.
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("Uid:", StringComparison.Ordinal))
                {
                    var fields = line[4..].Split('\t', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    return fields.Length >= 2 && int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var uid) ? uid : null;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return null;
    }
}
