using System.Text.Json;
using Pinhole.Testing;
using Pinhole.Testing.Netlab;
using Xunit.Abstractions;

namespace Pinhole.Cli.Tests;

/// <summary>
/// Goblins' own gap (its tcp-tls netlayer needs manual port forwarding behind a NAT), closed: <c>pinhole listen
/// --ocapn --map-port</c> behind a lab NAT asks the real miniupnpd for a TCP mapping and prints a locator that
/// an independent Goblins-wire dialer (tests/Pinhole.Ocapn.Tests/goblins_peer.py) on the internet side reaches.
/// </summary>
[Trait("Category", "Netns")]
public sealed class ListenMapPortLabTests(ITestOutputHelper output)
{
    private static string? Unavailable => NatLab.UnavailableReason(portMapping: true) ?? Tools.MissingReason("python3");

    public sealed class LabFact : FactAttribute
    {
        public LabFact() => Skip = Unavailable;
    }

    [LabFact]
    public async Task A_goblins_peer_outside_the_nat_dials_the_mapped_locator()
    {
        await using NatLab lab = await NatLab.CreateAsync(new NatLabOptions().Add("home", NatType.Easy, portMapping: true).Add("pub", NatType.Public));
        LabSite home = lab["home"];
        LabHost outside = lab["pub"].Host;
        using var guard = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        string pinholeHome = Directory.CreateTempSubdirectory("pinhole-mapport").FullName;

        await using ExternalProcess listen = home.Host.Start("dotnet", [Path.Combine(AppContext.BaseDirectory, "pinhole.dll"), "--home", pinholeHome,
            "listen", "--ocapn", "--map-port", "--cat", "--json"], new Dictionary<string, string?> { ["PINHOLE_HOME"] = null });
        string line = await listen.WaitForLineAsync(l => l.StartsWith('{'), TimeSpan.FromMinutes(1), guard.Token);
        output.WriteLine(line + "\n" + listen.StandardError);
        using JsonDocument listening = JsonDocument.Parse(line);
        var locator = Ocapn.OcapnLocator.Parse(listening.RootElement.GetProperty("ocapn").GetString()!);
        // The locator names the router's public address, not the host's private one.
        Assert.Equal(home.PublicAddress.ToString(), locator.Host);
        string port = locator.Port!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains($"dnat ip to {home.Host.Address}:", await home.PortMappingRulesAsync(), StringComparison.Ordinal);

        string peer = Path.Combine(RepoPaths.Root, "tests", "Pinhole.Ocapn.Tests", "goblins_peer.py");
        await using ExternalProcess dialer = outside.Start(Tools.Require("python3"), [peer, "dial", "--host", locator.Host!, "--port", port, "--designator", locator.Designator, "--message", "hello through the nat"]);
        Assert.Equal("hello through the nat", await listen.WaitForLineAsync(l => l.Length > 0 && !l.StartsWith('{'), TimeSpan.FromMinutes(1), guard.Token));
        await listen.StandardInput.WriteLineAsync("hello from behind it");
        await listen.StandardInput.FlushAsync(guard.Token);
        Assert.Equal("GOT hello from behind it", await dialer.WaitForLineAsync(l => l.StartsWith("GOT ", StringComparison.Ordinal), TimeSpan.FromMinutes(1), guard.Token));
        Assert.True(await dialer.WaitForExitAsync(TimeSpan.FromMinutes(1), guard.Token) == 0, dialer.Output());

        // End of input ends the cat session; the listener exits and deletes its mapping on the way out.
        listen.StandardInput.Close();
        int code = await listen.WaitForExitAsync(TimeSpan.FromMinutes(1), guard.Token);
        output.WriteLine(listen.Output());
        Assert.True(code == 0, $"exit {code}\n{listen.Output()}");
        Assert.Contains("deleted", listen.StandardError, StringComparison.Ordinal);
        // On exit the mapping is deleted from the gateway.
        Assert.DoesNotContain($"dnat ip to {home.Host.Address}:", await home.PortMappingRulesAsync(), StringComparison.Ordinal);
        Directory.Delete(pinholeHome, true);
    }
}
