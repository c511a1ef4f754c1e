using System.Net;
using Pinhole.Nat;

namespace Pinhole.Cli.Tests;

public sealed class NetcheckCliTests
{
    [Fact]
    public async Task Netcheck_prints_a_json_report_against_a_local_stun_server()
    {
        await using StunServer server = StunServer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        string home = Directory.CreateTempSubdirectory("pinhole-netcheck").FullName;
        await using CliProcess cli = CliProcess.Start(home, "netcheck", "--json", "--no-hairpin", "--stun", server.LocalEndPoints[0].ToString());
        string stdout = await cli.Process.StandardOutput.ReadToEndAsync();
        await cli.Process.WaitForExitAsync(new CancellationTokenSource(CliProcess.Timeout).Token);
        await cli.StderrCompleted;
        Assert.True(cli.Process.ExitCode == 0, cli.Stderr);
        NetcheckReport report = NetcheckReport.FromJson(stdout);
        Assert.True(report.Udp);
        Assert.StartsWith("127.0.0.1:", report.PublicIPv4, StringComparison.Ordinal);
        Assert.Single(report.Servers);
        Assert.NotNull(report.Servers[0].LatencyMilliseconds);
        Assert.Contains(report.Notes, n => n.Contains("RFC 5780", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Netcheck_without_a_server_is_a_usage_error()
    {
        string home = Directory.CreateTempSubdirectory("pinhole-netcheck").FullName;
        await using CliProcess cli = CliProcess.Start(home, "netcheck");
        await cli.Process.WaitForExitAsync(new CancellationTokenSource(CliProcess.Timeout).Token);
        Assert.Equal(2, cli.Process.ExitCode);
        // The pump may still be reading stderr after the exit: read it once it reached its end.
        await cli.StderrCompleted.WaitAsync(CliProcess.Timeout);
        Assert.Contains("--stun", cli.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_stun_servers_netcheck_asks_the_running_daemon()
    {
        await using StunServer server = StunServer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        string home = Directory.CreateTempSubdirectory("pinhole-netcheck").FullName;
        await using CliProcess daemon = CliProcess.Start(home, "daemon", "--listen", "/ip4/127.0.0.1/tcp/0", "--stun", server.LocalEndPoints[0].ToString());
        while (!(await daemon.ReadLineAsync()).StartsWith("api socket: ", StringComparison.Ordinal))
        {
        }
        var (code, stdout, stderr) = await CliProcess.RunAsync(home, null, "netcheck", "--json", "--no-hairpin");
        Assert.True(code == 0, stderr);
        NetcheckReport report = NetcheckReport.FromJson(stdout);
        Assert.True(report.Udp);
        Assert.Equal(server.LocalEndPoints[0].ToString(), Assert.Single(report.Servers).Server);
        // --gateway is a check from this process only.
        (code, _, stderr) = await CliProcess.RunAsync(home, null, "netcheck", "--gateway", "192.0.2.1");
        Assert.Equal(2, code);
        Assert.Contains("--gateway needs --stun", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_daemon_without_stun_servers_is_a_usage_error_naming_the_setting()
    {
        string home = Directory.CreateTempSubdirectory("pinhole-netcheck").FullName;
        await using CliProcess daemon = CliProcess.Start(home, "daemon", "--listen", "/ip4/127.0.0.1/tcp/0");
        while (!(await daemon.ReadLineAsync()).StartsWith("api socket: ", StringComparison.Ordinal))
        {
        }
        var (code, stdout, stderr) = await CliProcess.RunAsync(home, null, "netcheck");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains("Node:Stun", stderr, StringComparison.Ordinal);
        Assert.Contains("--stun", stderr, StringComparison.Ordinal);
    }
}
