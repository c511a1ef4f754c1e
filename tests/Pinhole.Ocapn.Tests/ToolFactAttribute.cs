namespace Pinhole.Ocapn.Tests;

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
