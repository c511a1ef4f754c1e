using System.Text.Json;
using Pinhole.Cli.Commands;
using Pinhole.Cli.Output;

namespace Pinhole.Cli.Tests;

/// <summary>The output conventions of docs/cli.md: results on stdout only, --json as one object per line, aligned text.</summary>
public sealed class CliOutputTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pinhole-cli-out-").FullName;

    private string Home(string name) => Path.Combine(_dir, name);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task IdJsonDescribesTheSameIdentityAsTheText()
    {
        var (code, text, stderr) = await CliProcess.RunAsync(Home("a"), null, "id");
        Assert.True(code == 0, stderr);
        (code, var json, stderr) = await CliProcess.RunAsync(Home("a"), null, "id", "--json");
        Assert.True(code == 0, stderr);
        Assert.Empty(stderr);
        var line = Assert.Single(json.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        using var document = JsonDocument.Parse(line);
        var root = document.RootElement;
        Assert.Equal(text.Trim(), root.GetProperty("peerId").GetString());
        Assert.Equal("ed25519", root.GetProperty("keyType").GetString());
        Assert.StartsWith("bafz", root.GetProperty("cid").GetString(), StringComparison.Ordinal);
        var key = Libp2pPublicKey.Decode(Convert.FromBase64String(root.GetProperty("publicKey").GetString()!));
        Assert.Equal(text.Trim(), key.PeerId.ToString());
    }

    [Fact]
    public async Task OcapnIdPrintsTheDesignatorBeforeAnyPortIsKnown()
    {
        var (code, stdout, stderr) = await CliProcess.RunAsync(Home("o"), null, "id", "--ocapn");
        Assert.True(code == 0, stderr);
        Assert.Matches("^ocapn://[0-9a-f]{64}\\.tcp-tls$", stdout.Trim());
        Assert.Contains("no port known yet", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("error", stderr, StringComparison.Ordinal);
        // It is the same designator the locator has once a port is given.
        (code, var withPort, _) = await CliProcess.RunAsync(Home("o"), null, "id", "--ocapn", "--ocapn-port", "9000");
        Assert.Equal(0, code);
        Assert.Equal(stdout.Trim() + "?host=localhost&port=9000", withPort.Trim());

        (code, var json, _) = await CliProcess.RunAsync(Home("o"), null, "id", "--ocapn", "--json");
        Assert.Equal(0, code);
        using var document = JsonDocument.Parse(json);
        Assert.Equal(stdout.Trim()[8..72], document.RootElement.GetProperty("designator").GetString());
        Assert.Equal(JsonValueKind.Null, document.RootElement.GetProperty("port").ValueKind);
        Assert.Equal(JsonValueKind.Null, document.RootElement.GetProperty("host").ValueKind);
    }

    [Fact]
    public async Task ListenAndPingJsonAreOneObjectPerLine()
    {
        await using var node = CliProcess.Start(Home("server"), "listen", "--json", "--listen", "/ip4/127.0.0.1/tcp/0");
        using var listening = JsonDocument.Parse(await node.ReadLineAsync());
        Assert.Equal("listening", listening.RootElement.GetProperty("type").GetString());
        var peerId = listening.RootElement.GetProperty("peerId").GetString()!;
        var address = listening.RootElement.GetProperty("addresses")[0].GetString()!;
        Assert.EndsWith("/p2p/" + peerId, address, StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Null, listening.RootElement.GetProperty("ocapn").ValueKind);

        var (code, stdout, stderr) = await CliProcess.RunAsync(Home("client"), null, "ping", "--json", "--count", "2", address);
        Assert.True(code == 0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(["pong", "pong", "summary"], lines.Select(l => l.GetProperty("type").GetString()));
        Assert.Equal([1, 2], lines.Take(2).Select(l => l.GetProperty("seq").GetInt32()));
        Assert.All(lines.Take(2), l => Assert.Equal(peerId, l.GetProperty("peerId").GetString()));
        Assert.All(lines.Take(2), l => Assert.True(l.GetProperty("rttMs").GetDouble() >= 0));
        Assert.Equal(2, lines[2].GetProperty("count").GetInt32());
    }

    [Fact]
    public async Task ErrorsStayTextOnStderrWithJson()
    {
        var (code, stdout, stderr) = await CliProcess.RunAsync(Home("e"), null, "ping", "--json", "/ip4/127.0.0.1/tcp/1/p2p/QmfXbAwNjJLXfesgztEHe8HwgVDCMMpZ9Eax1HYq6hn9uE");
        Assert.Equal(4, code);
        Assert.Empty(stdout);
        Assert.StartsWith("pinhole: error:", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void TablesAlignColumnsUnderUpperCaseHeaders()
    {
        var table = new TextTable("peer", "address", "state")
            .Add("12D3KooWA", "/ip4/127.0.0.1/tcp/4001", "direct")
            .Add("12D3KooWLonger", null, "relay\nnyc");
        Assert.Equal(
            "PEER            ADDRESS                  STATE\n" +
            "12D3KooWA       /ip4/127.0.0.1/tcp/4001  direct\n" +
            "12D3KooWLonger  -                        relay nyc\n",
            table.ToString().ReplaceLineEndings("\n"));
        Assert.Throws<ArgumentException>(() => table.Add("only one cell"));
    }

    [Fact]
    public void FieldsAlignValuesAfterTheLongestName()
    {
        using var writer = new StringWriter();
        TextTable.Fields(writer, [("peer id", "12D3KooWA"), ("listening port", "4001"), ("private key", "(hidden)"), ("relay", null)]);
        Assert.Equal(
            "peer id:        12D3KooWA\n" +
            "listening port: 4001\n" +
            "private key:    (hidden)\n" +
            "relay:          -\n",
            writer.ToString().ReplaceLineEndings("\n"));
    }

    [Fact]
    public void JsonIsOneCamelCaseLineWithNullsKept()
    {
        var text = CliJson.Serialize(new OcapnIdJson("ab+<&é", "ocapn://x.tcp-tls", null, null), CommandJsonContext.Default.OcapnIdJson);
        Assert.Equal("{\"designator\":\"ab+<&é\",\"locator\":\"ocapn://x.tcp-tls\",\"host\":null,\"port\":null}", text);
        Assert.DoesNotContain('\n', CliJson.Serialize(new ListeningJson("listening", "p", ["a", "b"], null), CommandJsonContext.Default.ListeningJson));
    }

    [Theory]
    [InlineData(0.2291, "0.229 ms")]
    [InlineData(12.34, "12.3 ms")]
    [InlineData(4200, "4.2 s")]
    [InlineData(180_000, "3 min")]
    public void DurationsPrintInTheUnitThatReads(double milliseconds, string expected) =>
        Assert.Equal(expected, CliOutput.Duration(TimeSpan.FromMilliseconds(milliseconds)));

    [Theory]
    [InlineData(512, "512 B")]
    [InlineData(1536, "1.5 KiB")]
    [InlineData(3 * 1024 * 1024 + 400 * 1024, "3.4 MiB")]
    public void SizesPrintInBinaryUnits(long bytes, string expected) => Assert.Equal(expected, CliOutput.Bytes(bytes));
}
