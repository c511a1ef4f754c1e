namespace Pinhole.Messaging.Tests.Support;

/// <summary>A fact that skips, saying why, when the npm msgpack-test-suite is not installed.</summary>
public sealed class MsgpackSuiteFactAttribute : FactAttribute
{
    public MsgpackSuiteFactAttribute()
    {
        if (RepoPaths.MsgpackTestSuite is null)
        {
            Skip = "msgpack-test-suite is not installed: run `npm install` in tests/npm/msgpack (scripts/setup-test-deps.sh does it).";
        }
    }
}
