namespace Pinhole.Membership.Internal;

/// <summary>Files only their owner may read (keys, caches): created 0600 via a temporary file and a rename, never half-written.</summary>
internal static class PrivateFile
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode GroupOrOther = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>Writes a new file; throws <see cref="IOException"/> if it exists.</summary>
    public static Task WriteNewAsync(string path, ReadOnlyMemory<byte> contents, CancellationToken cancellationToken) =>
        WriteAsync(path, contents, overwrite: false, cancellationToken);

    /// <summary>Replaces a file atomically (readers see the old or the new contents, never a mix).</summary>
    public static Task ReplaceAsync(string path, ReadOnlyMemory<byte> contents, CancellationToken cancellationToken) =>
        WriteAsync(path, contents, overwrite: true, cancellationToken);

    /// <summary>Reads a private file, refusing one that group or others can access, or one longer than <paramref name="maxLength"/>.</summary>
    public static async Task<byte[]> ReadAsync(string path, long maxLength, CancellationToken cancellationToken)
    {
        CheckMode(path);
        var info = new FileInfo(path);
        if (info.Length > maxLength)
        {
            throw new FormatException($"'{path}' is {info.Length} bytes; at most {maxLength} are read.");
        }
        return await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
    }

    public static async Task<string> ReadTextAsync(string path, long maxLength, CancellationToken cancellationToken) =>
        System.Text.Encoding.UTF8.GetString(await ReadAsync(path, maxLength, cancellationToken).ConfigureAwait(false));

    public static void CheckMode(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        var mode = File.GetUnixFileMode(path);
        if ((mode & GroupOrOther) != 0)
        {
            throw new UnauthorizedAccessException(
                $"Permissions 0{Convert.ToString((int)mode & 0x1FF, 8)} for '{path}' are too open: it must not be accessible by group or others. Run: chmod 600 '{path}'.");
        }
    }

    private static async Task WriteAsync(string path, ReadOnlyMemory<byte> contents, bool overwrite, CancellationToken cancellationToken)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
        }
        else
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        var temp = Path.Combine(directory, $".{Path.GetFileName(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = OwnerOnly;
        }
        try
        {
            var stream = new FileStream(temp, options);
            await using (stream.ConfigureAwait(false))
            {
                await stream.WriteAsync(contents, cancellationToken).ConfigureAwait(false);
                await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite);
        }
        finally
        {
            File.Delete(temp);
        }
    }
}
