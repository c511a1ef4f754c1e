namespace Pinhole.Fuzz;

/// <summary>
/// One fuzz target: a parser run on arbitrary bytes. <see cref="Run"/> may throw only what <see cref="IsExpected"/>
/// accepts (the parser's documented rejection of bad input); any other exception, a hang or a crash is a finding.
/// </summary>
/// <param name="Name">The name scripts and tests use (lowercase, dashes); also the corpus folder fuzz/corpus/NAME.</param>
/// <param name="Assemblies">Assemblies whose code the target exercises: scripts/fuzz.sh instruments them for AFL++.</param>
/// <param name="Run">Parses the input (and checks what it can cheaply, e.g. that re-encoding round-trips).</param>
/// <param name="IsExpected">True for the exceptions the parser documents for bad input.</param>
public sealed record FuzzTarget(string Name, string[] Assemblies, FuzzAction Run, Func<Exception, bool> IsExpected)
{
    /// <summary>Runs the target on <paramref name="data"/>; returns the unexpected exception, if any.</summary>
    public Exception? Execute(ReadOnlySpan<byte> data)
    {
        try
        {
            Run(data);
            return null;
        }
        catch (Exception e) when (IsExpected(e))
        {
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }
}

/// <summary>A target body.</summary>
public delegate void FuzzAction(ReadOnlySpan<byte> data);

/// <summary>A property a target checks failed (e.g. decode then encode did not give the input back).</summary>
public sealed class FuzzFindingException(string message) : Exception(message);
