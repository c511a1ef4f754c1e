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

/// <summary>A fact that is skipped, with a reason, when a shared vector file is missing.</summary>
public sealed class VectorFactAttribute : FactAttribute
{
    public VectorFactAttribute(string relativePath)
    {
        if (TestPaths.FindVector(relativePath) is null)
        {
            Skip = $"Test vector shared/vectors/{relativePath} not found above {AppContext.BaseDirectory} or in /work/shared/vectors.";
        }
    }
}

/// <summary>A fact that is skipped, with a reason, when a tool is not on PATH.</summary>
public sealed class ToolFactAttribute : FactAttribute
{
    public ToolFactAttribute(string tool)
    {
        if (TestPaths.FindOnPath(tool) is null)
        {
            Skip = $"'{tool}' is not on PATH; this interoperability test needs it.";
        }
    }
}
