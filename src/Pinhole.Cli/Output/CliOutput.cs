namespace Pinhole.Cli.Output;

/// <summary>
/// Where things go (docs/cli.md, "Conventions"): results on standard output, everything else — notes, progress,
/// errors — on standard error.
/// </summary>
internal static class CliOutput
{
    /// <summary>A note on standard error (<c>pinhole: &lt;message&gt;</c>): something the user should know that is not the result.</summary>
    public static void Note(string message) => Console.Error.WriteLine("pinhole: " + message.ReplaceLineEndings(" "));

    /// <summary>
    /// Progress on standard error, only when it is a terminal (or <paramref name="verbose"/>): a redirected
    /// standard error stays free of transient chatter.
    /// </summary>
    public static void Progress(string message, bool verbose = false)
    {
        if (verbose || !Console.IsErrorRedirected)
        {
            Console.Error.WriteLine(message);
        }
    }

    /// <summary>A duration the way text output prints it: <c>0.229 ms</c>, <c>12.3 ms</c>, <c>4.2 s</c>, <c>2 min</c>.</summary>
    public static string Duration(TimeSpan value) => value.TotalMilliseconds switch
    {
        < 10 => FormattableString.Invariant($"{value.TotalMilliseconds:0.###} ms"),
        < 1000 => FormattableString.Invariant($"{value.TotalMilliseconds:0.#} ms"),
        < 120_000 => FormattableString.Invariant($"{value.TotalSeconds:0.#} s"),
        _ => FormattableString.Invariant($"{value.TotalMinutes:0} min"),
    };

    /// <summary>A byte count the way text output prints it: <c>512 B</c>, <c>1.2 KiB</c>, <c>3.4 MiB</c>, <c>1.0 GiB</c>.</summary>
    public static string Bytes(long value) => value switch
    {
        < 1024 => FormattableString.Invariant($"{value} B"),
        < 1024 * 1024 => FormattableString.Invariant($"{value / 1024.0:0.0} KiB"),
        < 1024L * 1024 * 1024 => FormattableString.Invariant($"{value / (1024.0 * 1024):0.0} MiB"),
        _ => FormattableString.Invariant($"{value / (1024.0 * 1024 * 1024):0.0} GiB"),
    };
}
