using System.Diagnostics;
using System.Globalization;
using SharpFuzz;

namespace Pinhole.Fuzz;

/// <summary>
/// <code>
/// Pinhole.Fuzz list                              target names and the assemblies to instrument
/// Pinhole.Fuzz afl TARGET                        run under afl-fuzz (SharpFuzz out-of-process, instrumented assemblies)
/// Pinhole.Fuzz afl-persistent TARGET             the same in one process (SharpFuzz Fuzzer.Run: faster; a stack overflow ends the run)
/// Pinhole.Fuzz libfuzzer TARGET                  run under a libFuzzer driver (SharpFuzz LibFuzzer protocol)
/// Pinhole.Fuzz replay TARGET FILE|DIR...         run inputs (e.g. AFL++ crashes) and report each result
/// Pinhole.Fuzz smoke TARGET CORPUS [N] [SEED]    the corpus plus N deterministic mutations, in-process
/// Pinhole.Fuzz seed DIR                          write the seed corpus of every target into DIR/TARGET/
/// </code>
/// </summary>
public static class Program
{
    // One AFL++ input: an undocumented exception escapes, which SharpFuzz reports to afl-fuzz as a crash.
    private static void RunAfl(FuzzTarget target, Stream stream)
    {
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        if (target.Execute(buffer.ToArray()) is { } e)
        {
            throw new InvalidOperationException($"{target.Name}: unexpected {e.GetType().Name}", e);
        }
    }

    public static int Main(string[] args)
    {
        switch (args)
        {
            case ["list"]:
                foreach (var target in FuzzTargets.All)
                {
                    Console.WriteLine($"{target.Name}\t{string.Join(",", target.Assemblies)}");
                }
                return 0;
            case ["afl", var name]:
                var afl = FuzzTargets.Get(name);
                Fuzzer.OutOfProcess.Run(stream => RunAfl(afl, stream));
                return 0;
            case ["afl-persistent", var name]:
                var persistent = FuzzTargets.Get(name);
                Fuzzer.Run(stream => RunAfl(persistent, stream));
                return 0;
            case ["libfuzzer", var name]:
                var lib = FuzzTargets.Get(name);
                Fuzzer.LibFuzzer.Run(span =>
                {
                    if (lib.Execute(span) is { } e)
                    {
                        throw new InvalidOperationException($"{lib.Name}: unexpected {e.GetType().Name}", e);
                    }
                });
                return 0;
            case ["replay", var name, .. var paths]:
                return Replay(FuzzTargets.Get(name), paths);
            case ["smoke", var name, var corpus, .. var rest]:
                var count = rest.Length > 0 ? int.Parse(rest[0], CultureInfo.InvariantCulture) : 10_000;
                var seed = rest.Length > 1 ? int.Parse(rest[1], CultureInfo.InvariantCulture) : 1;
                return Smoke(FuzzTargets.Get(name), corpus, count, seed);
            case ["seed", var directory]:
                Seeds.WriteAll(directory);
                return 0;
            default:
                Console.Error.WriteLine("usage: Pinhole.Fuzz list | afl TARGET | afl-persistent TARGET | libfuzzer TARGET | replay TARGET PATH... | smoke TARGET CORPUS [N] [SEED] | seed DIR");
                return 2;
        }
    }

    private static int Replay(FuzzTarget target, string[] paths)
    {
        var failures = 0;
        foreach (var file in paths.SelectMany(p => Directory.Exists(p) ? Directory.GetFiles(p) : [p]))
        {
            var error = target.Execute(File.ReadAllBytes(file));
            Console.WriteLine(error is null ? $"ok   {file}" : $"FAIL {file}: {error}");
            failures += error is null ? 0 : 1;
        }
        return failures == 0 ? 0 : 1;
    }

    private static int Smoke(FuzzTarget target, string corpusDirectory, int count, int seed)
    {
        var corpus = Corpus.Load(corpusDirectory);
        var watch = Stopwatch.StartNew();
        var result = Corpus.Smoke(target, corpus, count, seed);
        Console.WriteLine($"{target.Name}: {result.Executions} executions in {watch.Elapsed.TotalSeconds:0.0} s, {result.Failures.Count} failures");
        foreach (var (input, error) in result.Failures.Take(5))
        {
            Console.WriteLine($"  {Convert.ToHexString(input)}: {error}");
        }
        return result.Failures.Count == 0 ? 0 : 1;
    }
}

/// <summary>The in-process smoke run shared by the command line and the CI tests.</summary>
public static class Corpus
{
    public static List<byte[]> Load(string directory) =>
        Directory.Exists(directory) ? [.. Directory.GetFiles(directory).Order(StringComparer.Ordinal).Select(File.ReadAllBytes)] : [];

    public sealed record SmokeResult(int Executions, List<(byte[] Input, Exception Error)> Failures);

    public static SmokeResult Smoke(FuzzTarget target, IReadOnlyList<byte[]> corpus, int mutations, int seed)
    {
        var failures = new List<(byte[], Exception)>();
        var executions = 0;
        foreach (var input in corpus)
        {
            executions++;
            if (target.Execute(input) is { } e)
            {
                failures.Add((input, e));
            }
        }
        var mutator = new Mutator(seed);
        for (var i = 0; i < mutations; i++)
        {
            var input = mutator.Mutate(corpus);
            executions++;
            if (target.Execute(input) is { } e)
            {
                failures.Add((input, e));
            }
        }
        return new SmokeResult(executions, failures);
    }
}
