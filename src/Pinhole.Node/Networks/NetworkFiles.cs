using Pinhole.Membership;

namespace Pinhole.Node;

/// <summary>
/// A followed network's two files in the cache directory: <c>&lt;id&gt;.cache</c> (the verified records, written by
/// <see cref="MembershipClient"/>) and <c>&lt;id&gt;.coordinators</c> (where to sync from). A restart follows every
/// network with a cache, so the coordinator list is written before a join redeems anything (atomically), and a leave moves both aside
/// before it stops anything.
/// </summary>
internal static class NetworkFiles
{
    private const string LeavingSuffix = ".leaving";

    /// <summary>
    /// Writes the coordinator list by replacing the file whole (a temp file renamed over it), so a crash or a full disk
    /// never leaves a half list beside a cache.
    /// </summary>
    /// <exception cref="NetworkStorageException">It could not be written (nothing was redeemed yet when a join calls this).</exception>
    public static async Task WriteCoordinatorsAsync(string directory, NetworkId network, IEnumerable<Multiaddr> coordinators, CancellationToken cancellationToken)
    {
        var path = NetworkMembershipService.CoordinatorsPath(directory, network);
        var temp = path + ".tmp";
        try
        {
            Directory.CreateDirectory(directory);
            await File.WriteAllLinesAsync(temp, coordinators.Select(c => c.ToString()), cancellationToken).ConfigureAwait(false);
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            throw new NetworkStorageException($"Could not write '{path}': {e.Message}", path, innerException: e);
        }
    }

    /// <summary>
    /// First step of a leave, before anything is stopped: moves both files aside, so a file that cannot be removed
    /// fails the leave while the network is still followed and nothing changed (a failed second move is undone).
    /// </summary>
    /// <exception cref="NetworkStorageException">A file could not be moved; both are where they were.</exception>
    public static IReadOnlyList<string> StageLeave(string directory, NetworkId network)
    {
        var moved = new List<string>();
        foreach (var path in new[] { NetworkMembershipService.CoordinatorsPath(directory, network), MembershipClient.CachePath(directory, network) })
        {
            if (!Path.Exists(path))
            {
                continue;
            }
            try
            {
                File.Move(path, path + LeavingSuffix, overwrite: true);
                moved.Add(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                foreach (var back in moved)
                {
                    try
                    {
                        File.Move(back + LeavingSuffix, back, overwrite: true);
                    }
                    catch (Exception undo) when (undo is IOException or UnauthorizedAccessException)
                    {
                        // The rename just worked the other way; if it cannot be undone, the message below still names the file.
                    }
                }
                throw new NetworkStorageException($"Could not remove '{path}' (the network is still followed): {e.Message}", path, innerException: e);
            }
        }
        return moved;
    }

    /// <summary>
    /// Last step of a leave, after the client stopped: deletes the moved files and the cache the client's last save
    /// wrote back.
    /// </summary>
    /// <exception cref="NetworkStorageException">A file could not be deleted (the network is no longer followed in this run).</exception>
    public static void FinishLeave(string directory, NetworkId network, IReadOnlyList<string> staged)
    {
        var paths = staged.Select(p => p + LeavingSuffix).Append(MembershipClient.CachePath(directory, network)).Append(NetworkMembershipService.CoordinatorsPath(directory, network));
        foreach (var path in paths)
        {
            try
            {
                File.Delete(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new NetworkStorageException($"The network is no longer followed, but '{path}' could not be deleted (delete it by hand, or a restart follows the network again): {e.Message}", path, innerException: e);
            }
        }
    }

    /// <summary>Removes a coordinator list written for a join that then failed before anything was cached.</summary>
    public static void ForgetFailedJoin(string directory, NetworkId network)
    {
        if (!File.Exists(MembershipClient.CachePath(directory, network)))
        {
            TryDelete(NetworkMembershipService.CoordinatorsPath(directory, network));
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: a stray coordinator list without a cache is never followed.
        }
    }
}
