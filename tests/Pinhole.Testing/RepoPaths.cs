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

    /// <summary>Names a <c>shared</c> folder explicitly (e.g. in a CI layout where it is not beside the checkout).</summary>
    public const string SharedEnvironmentVariable = "PINHOLE_SHARED";

    /// <summary>
    /// <c>../shared</c> beside the repository, or null where it is absent. Looked for, in order: the folder named
    /// by <see cref="SharedEnvironmentVariable"/>; <c>shared</c> beside this checkout; and, when this checkout is
    /// a git worktree (<c>.git</c> is a file), <c>shared</c> beside the main checkout it belongs to.
    /// </summary>
    public static string? Shared => SharedDirectory.Value;

    private static readonly Lazy<string?> SharedDirectory = new(FindShared);

    private static string? FindShared()
    {
        if (Environment.GetEnvironmentVariable(SharedEnvironmentVariable) is { Length: > 0 } named)
        {
            return Directory.Exists(named) ? Path.GetFullPath(named) : null;
        }
        return RootDirectory.Value is { } root ? SharedBeside(root) : null;
    }

    /// <summary>
    /// The <c>shared</c> folder for the checkout at <paramref name="checkout"/>: beside it, or beside the main
    /// checkout when <paramref name="checkout"/> is a git worktree; null when neither exists.
    /// </summary>
    public static string? SharedBeside(string checkout)
    {
        ArgumentException.ThrowIfNullOrEmpty(checkout);
        foreach (var candidate in new[] { checkout, MainCheckoutOf(checkout) })
        {
            if (candidate is null)
            {
                continue;
            }
            var shared = Path.GetFullPath(Path.Combine(candidate, "..", "shared"));
            if (Directory.Exists(shared))
            {
                return shared;
            }
        }
        return null;
    }

    /// <summary>
    /// For a git worktree (<c>.git</c> is a file <c>gitdir: &lt;main&gt;/.git/worktrees/&lt;name&gt;</c>), the main
    /// checkout; otherwise null.
    /// </summary>
    private static string? MainCheckoutOf(string root)
    {
        var dotGit = Path.Combine(root, ".git");
        if (!File.Exists(dotGit))
        {
            return null;
        }
        var line = File.ReadLines(dotGit).FirstOrDefault(l => l.StartsWith("gitdir:", StringComparison.Ordinal));
        if (line is null)
        {
            return null;
        }
        var gitDir = Path.GetFullPath(Path.Combine(root, line["gitdir:".Length..].Trim()));
        // <gitdir>/commondir holds the path of the shared .git directory, relative to <gitdir>.
        var commonDirFile = Path.Combine(gitDir, "commondir");
        var commonDir = File.Exists(commonDirFile)
            ? Path.GetFullPath(Path.Combine(gitDir, File.ReadAllText(commonDirFile).Trim()))
            : null;
        return commonDir is null ? null : Path.GetDirectoryName(commonDir);
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
        ? $"test vector ../shared/vectors/{relative} not found beside the repository (or its main checkout, or ${SharedEnvironmentVariable})"
        : null;

    /// <summary>A path under the repository root.</summary>
    public static string InRepo(params string[] parts) => Path.Combine([Root, .. parts]);

    /// <summary>The repository root, or null when the test binary does not sit inside a checkout.</summary>
    public static string? TryRoot => RootDirectory.Value;
}
