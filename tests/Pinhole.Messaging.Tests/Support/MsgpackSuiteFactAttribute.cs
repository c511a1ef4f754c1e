namespace Pinhole.Messaging.Tests.Support;

/// <summary>The npm msgpack-test-suite that scripts/setup-test-deps.sh installs in tests/npm/msgpack.</summary>
internal static class MsgpackSuite
{
    /// <summary>Its msgpack-test-suite.json, or null if `npm install` has not run.</summary>
    public static string? Path
    {
        get
        {
            if (RepoPaths.TryRoot is not { } root)
            {
                return null;
            }
            var file = System.IO.Path.Combine(root, "tests", "npm", "msgpack", "node_modules", "msgpack-test-suite", "dist", "msgpack-test-suite.json");
            return File.Exists(file) ? file : null;
        }
    }
}

/// <summary>A fact that skips, saying why, when the npm msgpack-test-suite is not installed.</summary>
public sealed class MsgpackSuiteFactAttribute : FactAttribute
{
    public MsgpackSuiteFactAttribute()
    {
        if (MsgpackSuite.Path is null)
        {
            Skip = "msgpack-test-suite is not installed: run `npm install` in tests/npm/msgpack (scripts/setup-test-deps.sh does it).";
        }
    }
}
