namespace Pinhole.Core.Tests.Support;

/// <summary>The shared test support (tests/Pinhole.Testing) that every test project relies on.</summary>
public sealed class TestSupportTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pinhole-testing-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void RootIsTheCheckoutHoldingTheSolution()
    {
        Assert.True(File.Exists(Path.Combine(RepoPaths.Root, "Pinhole.slnx")));
        Assert.Equal(RepoPaths.Root, RepoPaths.TryRoot);
        Assert.True(Directory.Exists(RepoPaths.InRepo("tests", "Pinhole.Testing")));
    }

    [Fact]
    public void SharedIsFoundBesideAPlainClone()
    {
        var clone = Directory.CreateDirectory(Path.Combine(_dir, "clone", "pinhole")).FullName;
        Assert.Null(RepoPaths.SharedBeside(clone));
        var shared = Directory.CreateDirectory(Path.Combine(_dir, "clone", "shared")).FullName;
        Assert.Equal(shared, RepoPaths.SharedBeside(clone));
    }

    [Fact]
    public void SharedIsFoundBesideTheMainCheckoutOfAGitWorktree()
    {
        // <dir>/main/.git is the repository, <dir>/wt/feature a worktree of it (as `git worktree add` lays it out),
        // <dir>/shared beside the main checkout only.
        var main = Directory.CreateDirectory(Path.Combine(_dir, "main")).FullName;
        var gitDir = Directory.CreateDirectory(Path.Combine(main, ".git", "worktrees", "feature")).FullName;
        File.WriteAllText(Path.Combine(gitDir, "commondir"), "../..\n");
        var worktree = Directory.CreateDirectory(Path.Combine(_dir, "wt", "feature")).FullName;
        File.WriteAllText(Path.Combine(worktree, ".git"), $"gitdir: {gitDir}\n");
        Assert.Null(RepoPaths.SharedBeside(worktree));

        var shared = Directory.CreateDirectory(Path.Combine(_dir, "shared")).FullName;
        Assert.Equal(shared, RepoPaths.SharedBeside(worktree));
        Assert.Equal(shared, RepoPaths.SharedBeside(main));

        // A relative gitdir line (git writes absolute ones, but the format allows both) resolves the same way.
        File.WriteAllText(Path.Combine(worktree, ".git"), "gitdir: ../../main/.git/worktrees/feature\n");
        Assert.Equal(shared, RepoPaths.SharedBeside(worktree));
    }

    [Fact]
    public async Task ExternalProcessFindsTextOnEitherStreamAndStopsAtOnceWithoutGrace()
    {
        await using var process = ExternalProcess.Start(Tools.Require("sh"), ["-c", "echo ready >&2; echo line one; exec sleep 60"]);
        process.StopGrace = TimeSpan.Zero;
        await process.WaitForOutputAsync("ready", Eventually.DefaultTimeout);
        Assert.Equal("line one", await process.WaitForLineAsync(l => l.StartsWith("line", StringComparison.Ordinal), Eventually.DefaultTimeout));
        var pid = process.Id;
        await process.DisposeAsync();
        // Killed and reaped: the sleep would otherwise run for a minute.
        Assert.False(Directory.Exists($"/proc/{pid}"), $"process {pid} still exists");
    }

    [Fact]
    public async Task ExternalProcessReportsAnEarlyExitInsteadOfWaitingForText()
    {
        await using var process = ExternalProcess.Start(Tools.Require("sh"), ["-c", "echo nothing useful; exit 3"]);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => process.WaitForOutputAsync("never printed", Eventually.DefaultTimeout));
        Assert.Contains("never printed", e.Message, StringComparison.Ordinal);
        Assert.Equal(3, await process.WaitForExitAsync(Eventually.DefaultTimeout));
    }

    [Fact]
    public async Task EventuallyNamesWhatItWaitedFor()
    {
        var e = await Assert.ThrowsAsync<TimeoutException>(() => Eventually.TrueAsync(() => false, "a condition that never holds", TimeSpan.FromMilliseconds(50)));
        Assert.Contains("a condition that never holds", e.Message, StringComparison.Ordinal);
        var flag = 0;
        _ = Task.Run(() => Volatile.Write(ref flag, 1));
        await Eventually.TrueAsync(() => Volatile.Read(ref flag) == 1, "the flag set by another thread");
    }
}
