namespace Pinhole.Testing;

/// <summary>
/// Finds this checkout and the <c>shared</c> folder beside it (public test vectors, notes) relative to the test
/// binary, never by an absolute path of a particular machine.
/// </summary>
public static class RepoPaths
{
    private static readonly Lazy<string?> RootDirectory = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Pinhole.slnx")))
            {
                return dir.FullName;
            }
        }
        return null;
    });

    /// <summary>The repository root (the folder holding Pinhole.slnx).</summary>
    public static string Root => RootDirectory.Value ?? throw new InvalidOperationException($"No Pinhole.slnx above {AppContext.BaseDirectory}.");

    /// <summary><c>../shared</c> beside the repository, or null where it is absent.</summary>
    public static string? Shared
    {
        get
        {
            if (RootDirectory.Value is not { } root)
            {
                return null;
            }
            var shared = Path.GetFullPath(Path.Combine(root, "..", "shared"));
            return Directory.Exists(shared) ? shared : null;
        }
    }

    /// <summary>A file under <c>../shared/vectors</c>, or null where it is absent.</summary>
    public static string? FindVector(string relative)
    {
        if (Shared is not { } shared)
        {
            return null;
        }
        var path = Path.Combine(shared, "vectors", relative);
        return File.Exists(path) ? path : null;
    }

    /// <summary>Why a test that needs <c>../shared/vectors/<paramref name="relative"/></c> cannot run, or null.</summary>
    public static string? VectorMissingReason(string relative) => FindVector(relative) is null
        ? $"test vector ../shared/vectors/{relative} not found beside the repository"
        : null;

    /// <summary>A path under the repository root.</summary>
    public static string InRepo(params string[] parts) => Path.Combine([Root, .. parts]);
}
