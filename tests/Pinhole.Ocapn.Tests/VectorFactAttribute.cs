namespace Pinhole.Ocapn.Tests;

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
