namespace Pinhole.Ocapn.Tests;

/// <summary>Finds shared test vectors: walks up from the test binary to a directory holding shared/vectors.</summary>
internal static class TestPaths
{
    public static string? FindVector(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "vectors", relative);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        var fallback = Path.Combine("/work/shared/vectors", relative);
        return File.Exists(fallback) ? fallback : null;
    }

    public static string? FindOnPath(string tool)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
        {
            if (dir.Length == 0)
            {
                continue;
            }
            var candidate = Path.Combine(dir, tool);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }
}
