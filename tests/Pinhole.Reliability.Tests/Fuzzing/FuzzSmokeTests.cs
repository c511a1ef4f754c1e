using Pinhole.Fuzz;
using Pinhole.Testing;

namespace Pinhole.Reliability.Tests.Fuzzing;

/// <summary>
/// The CI smoke of every fuzz target: the corpus in the repository (seeds, inputs AFL++ kept, and every crash ever
/// found) plus a thousand deterministic mutations, in-process. scripts/fuzz.sh runs the real thing (AFL++).
/// </summary>
public sealed class FuzzSmokeTests
{
    private const int Mutations = 1000; // a smoke: seconds in CI; scripts/fuzz.sh does the millions

    public static TheoryData<string> Targets() => [.. FuzzTargets.All.Select(t => t.Name)];

    [Theory]
    [MemberData(nameof(Targets))]
    public void Corpus_and_mutations_raise_only_documented_errors(string name)
    {
        var target = FuzzTargets.Get(name);
        var corpus = Corpus.Load(RepoPaths.InRepo("fuzz", "corpus", name));
        Assert.NotEmpty(corpus); // a target without a corpus is not run by scripts/fuzz.sh either
        var result = Corpus.Smoke(target, corpus, Mutations, seed: name.Length);
        Assert.True(result.Failures.Count == 0, string.Join("\n", result.Failures.Take(3).Select(f => $"input {Convert.ToHexString(f.Input)}: {f.Error}")));
    }

    [Fact]
    public void Every_target_has_seeds_and_a_unique_name()
    {
        Assert.Equal(FuzzTargets.All.Count, FuzzTargets.All.Select(t => t.Name).Distinct().Count());
        foreach (var target in FuzzTargets.All)
        {
            Assert.NotEmpty(Seeds.For(target.Name));
            Assert.All(Seeds.For(target.Name), seed => Assert.Null(target.Execute(seed)));
        }
    }
}
