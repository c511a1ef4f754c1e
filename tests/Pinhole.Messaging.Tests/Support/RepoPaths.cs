namespace Pinhole.Messaging.Tests.Support;

/// <summary>Finds folders of the repository from the test binary's location.</summary>
internal static class RepoPaths
{
    /// <summary>The repository root: the first ancestor of the test binary with a Pinhole.slnx.</summary>
    public static string? Root { get; } = FindRoot();

    /// <summary>The installed msgpack-test-suite package, or null if `npm install` has not run.</summary>
    public static string? MsgpackTestSuite
    {
        get
        {
            if (Root is null)
            {
                return null;
            }
            var dir = Path.Combine(Root, "tests", "npm", "msgpack", "node_modules", "msgpack-test-suite", "dist");
            return File.Exists(Path.Combine(dir, "msgpack-test-suite.json")) ? Path.Combine(dir, "msgpack-test-suite.json") : null;
        }
    }

    private static string? FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Pinhole.slnx")))
            {
                return dir.FullName;
            }
        }
        return null;
    }
}
