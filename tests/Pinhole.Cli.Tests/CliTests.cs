using System.Security.Cryptography;

namespace Pinhole.Cli.Tests;

public sealed class CliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pinhole-cli-").FullName;

    private string Home(string name) => Path.Combine(_dir, name);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task IdCreatesOnceAndPrintsTheSamePeerId()
    {
        var (code, first, _) = await CliProcess.RunAsync(Home("a"), null, "id");
        Assert.Equal(0, code);
        var (_, second, _) = await CliProcess.RunAsync(Home("a"), null, "id");
        Assert.Equal(first, second);
        Assert.Equal(PeerId.Parse(first.Trim()).ToString(), first.Trim());
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(Home("a"), "identity.key")));
    }

    [Fact]
    public async Task NewIdentitiesAreEd25519UnlessEcdsaIsAskedFor()
    {
        var (code, ed25519, stderr) = await CliProcess.RunAsync(Home("ed"), null, "id");
        Assert.True(code == 0, stderr);
        Assert.StartsWith("12D3KooW", ed25519.Trim(), StringComparison.Ordinal);
        (code, var ecdsa, stderr) = await CliProcess.RunAsync(Home("ec"), null, "--key-type", "ecdsa", "id");
        Assert.True(code == 0, stderr);
        Assert.StartsWith("Qm", ecdsa.Trim(), StringComparison.Ordinal);
        // An existing identity keeps its type: the option only applies when the identity is created.
        (code, var again, stderr) = await CliProcess.RunAsync(Home("ec"), null, "id");
        Assert.True(code == 0, stderr);
        Assert.Equal(ecdsa, again);
        (code, again, stderr) = await CliProcess.RunAsync(Home("ed"), null, "--key-type", "ecdsa", "id");
        Assert.True(code == 0, stderr);
        Assert.Equal(ed25519, again);
        (code, _, stderr) = await CliProcess.RunAsync(Home("bad"), null, "--key-type", "rsa", "id");
        Assert.Equal(2, code);
        Assert.Contains("rsa", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EcdsaNodesStillListenAndArePinged()
    {
        Assert.Equal(0, (await CliProcess.RunAsync(Home("ecdsa-server"), null, "--key-type", "ecdsa", "id")).Code);
        await using var node = CliProcess.Start(Home("ecdsa-server"), "listen", "--listen", "/ip4/127.0.0.1/tcp/0");
        var address = await node.ReadLineAsync();
        Assert.Matches("^/ip4/127.0.0.1/tcp/[0-9]+/p2p/Qm", address);
        var (code, _, stderr) = await CliProcess.RunAsync(Home("client"), null, "ping", address, "--count", "1");
        Assert.True(code == 0, stderr);
    }

    [Fact]
    public async Task ListenPingAndWrongKey()
    {
        await using var node = CliProcess.Start(Home("server"), "listen", "--listen", "/ip4/127.0.0.1/tcp/0");
        var address = await node.ReadLineAsync();
        Assert.Matches("^/ip4/127.0.0.1/tcp/[0-9]+/p2p/12D3KooW", address);
        var (code, stdout, stderr) = await CliProcess.RunAsync(Home("client"), null, "ping", address, "--count", "2");
        Assert.True(code == 0, stderr);
        Assert.Equal(3, stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        var wrong = address[..address.LastIndexOf('/')] + "/QmfXbAwNjJLXfesgztEHe8HwgVDCMMpZ9Eax1HYq6hn9uE";
        (code, _, stderr) = await CliProcess.RunAsync(Home("client"), null, "ping", wrong);
        Assert.Equal(3, code);
        Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("QmfXbAwNjJLXfesgztEHe8HwgVDCMMpZ9Eax1HYq6hn9uE", stderr, StringComparison.Ordinal);
        Assert.Contains(address[(address.LastIndexOf('/') + 1)..], stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CatIsBinarySafeWithHalfCloseBothWays()
    {
        var toListener = RandomNumberGenerator.GetBytes(2 * 1024 * 1024 + 17);
        var toDialer = RandomNumberGenerator.GetBytes(100_003);
        await using var node = CliProcess.Start(Home("server"), "listen", "--cat", "--listen", "/ip4/127.0.0.1/tcp/0");
        var address = await node.ReadLineAsync();
        using var listenerOutput = new MemoryStream();
        var readListener = node.Process.StandardOutput.BaseStream.CopyToAsync(listenerOutput);
        // More than a pipe buffer: feed it while the listener runs, or this write would block until a peer connects.
        var feed = Task.Run(async () =>
        {
            await node.Process.StandardInput.BaseStream.WriteAsync(toDialer);
            node.Process.StandardInput.Close();
        });
        var (code, _, stderr) = await RunCatAsync(address, toListener);
        await feed;
        Assert.True(code.Code == 0, stderr);
        using var cts = new CancellationTokenSource(CliProcess.Timeout);
        await node.Process.WaitForExitAsync(cts.Token);
        await readListener;
        Assert.Equal(0, node.Process.ExitCode);
        Assert.True(toListener.AsSpan().SequenceEqual(listenerOutput.ToArray()), "listener output differs");
        Assert.True(toDialer.AsSpan().SequenceEqual(code.Stdout), "dialer output differs");
    }

    private async Task<((int Code, byte[] Stdout), string, string)> RunCatAsync(string address, byte[] input)
    {
        await using var process = CliProcess.Start(Home("client"), "cat", address);
        using var output = new MemoryStream();
        var read = process.Process.StandardOutput.BaseStream.CopyToAsync(output);
        var feed = Task.Run(async () =>
        {
            await process.Process.StandardInput.BaseStream.WriteAsync(input);
            process.Process.StandardInput.Close();
        });
        using var cts = new CancellationTokenSource(CliProcess.Timeout);
        await process.Process.WaitForExitAsync(cts.Token);
        await read;
        await feed;
        await process.StderrCompleted;
        return ((process.Process.ExitCode, output.ToArray()), "", process.Stderr);
    }

    [Theory]
    [InlineData(2, "ping", "not-an-address")]
    [InlineData(2, "ping", "/ip4/127.0.0.1/tcp/1")]
    [InlineData(4, "ping", "/ip4/127.0.0.1/tcp/1/p2p/QmfXbAwNjJLXfesgztEHe8HwgVDCMMpZ9Eax1HYq6hn9uE")]
    [InlineData(2, "frobnicate")]
    [InlineData(2, "ping", "/ip4/127.0.0.1/tcp/1/p2p/QmfXbAwNjJLXfesgztEHe8HwgVDCMMpZ9Eax1HYq6hn9uE", "--count", "0")]
    public async Task FailuresHaveDocumentedExitCodesAndOneLine(int expected, params string[] args)
    {
        var (code, _, stderr) = await CliProcess.RunAsync(Home("c"), null, args);
        Assert.Equal(expected, code);
        Assert.StartsWith("pinhole: error:", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeyFileTooOpenIsRefused()
    {
        Assert.Equal(0, (await CliProcess.RunAsync(Home("k"), null, "id")).Code);
        File.SetUnixFileMode(Path.Combine(Home("k"), "identity.key"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        var (code, _, stderr) = await CliProcess.RunAsync(Home("k"), null, "id");
        Assert.Equal(5, code);
        Assert.Contains("too open", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HelpWorksEverywhere()
    {
        foreach (var command in new[] { "id", "listen", "ping", "cat" })
        {
            var (code, stdout, _) = await CliProcess.RunAsync(Home("h"), null, command, "--help");
            Assert.Equal(0, code);
            Assert.Contains("Usage:", stdout, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task OcapnLocatorListenAndPing()
    {
        var (code, locator, stderr) = await CliProcess.RunAsync(Home("o"), null, "id", "--ocapn", "--ocapn-port", "9000");
        Assert.True(code == 0, stderr);
        Assert.Matches("^ocapn://[0-9a-f]{64}\\.tcp-tls\\?host=localhost&port=9000$", locator.Trim());
        await using var node = CliProcess.Start(Home("o"), "listen", "--listen", "/ip4/127.0.0.1/tcp/0", "--ocapn", "--ocapn-listen", "127.0.0.1:0");
        string line;
        do
        {
            line = await node.ReadLineAsync();
        }
        while (!line.StartsWith("ocapn://", StringComparison.Ordinal));
        Assert.Contains(locator.Trim()[..80], line, StringComparison.Ordinal);
        // "ping" a Goblins-style peer: connect, designator check, TLS handshake.
        (code, var stdout, stderr) = await CliProcess.RunAsync(Home("d"), null, "ping", line, "--count", "1");
        Assert.True(code == 0, stderr);
        Assert.Contains("reached", stdout, StringComparison.Ordinal);
        var wrong = "ocapn://" + (line[8] == '0' ? '1' : '0') + line[9..];
        (code, _, stderr) = await CliProcess.RunAsync(Home("d"), null, "ping", wrong, "--count", "1");
        Assert.Equal(3, code);
        Assert.Contains("mismatch", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListenStopsCleanlyOnCtrlC()
    {
        await using var node = CliProcess.Start(Home("int"), "listen", "--listen", "/ip4/127.0.0.1/tcp/0");
        await node.ReadLineAsync();
        using (var kill = System.Diagnostics.Process.Start("kill", ["-INT", node.Process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }
        using var cts = new CancellationTokenSource(CliProcess.Timeout);
        await node.Process.WaitForExitAsync(cts.Token);
        // 130 (interrupted) once in a full run even after the announcement fix: the stderr says what was interrupted.
        Assert.True(node.Process.ExitCode == 0, $"exit {node.Process.ExitCode}; stderr:\n{node.Stderr}");
    }

    [Fact]
    public async Task PacketSendAndEchoOverDtls()
    {
        await using var node = CliProcess.Start(Home("udp"), "packet", "listen", "--listen", "/ip4/127.0.0.1/udp/0", "--echo");
        var address = await node.ReadLineAsync();
        Assert.Matches("^/ip4/127.0.0.1/udp/[0-9]+/p2p/12D3KooW", address);
        var (code, stdout, stderr) = await CliProcess.RunAsync(Home("sender"), "one\ntwo\n"u8.ToArray(), "packet", "send", address, "--wait", "1");
        Assert.True(code == 0, stderr);
        Assert.Equal(["one", "two"], stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal("one", await node.ReadLineAsync());
        Assert.Equal("two", await node.ReadLineAsync());
        var wrong = address[..address.LastIndexOf('/')] + "/QmfXbAwNjJLXfesgztEHe8HwgVDCMMpZ9Eax1HYq6hn9uE";
        (code, _, _) = await CliProcess.RunAsync(Home("sender"), "x\n"u8.ToArray(), "packet", "send", wrong);
        Assert.Equal(3, code);
    }
}
