using System.IO.Compression;
using System.Reflection;
using System.Xml.Linq;
using Pinhole.Testing;

namespace Pinhole.Cli.Tests;

/// <summary>
/// What <c>scripts/package.sh</c> ships, checked from the binaries this test run already built
/// (<c>dotnet pack --no-build</c>): the <c>pinhole</c> dotnet tool installs from a local feed and runs, and a library
/// package carries its README, license, repository metadata, dependencies and symbols (docs/packaging.md).
/// </summary>
public sealed class PackagingTests : IDisposable
{
    // Hang guards for pack and install on a loaded 2-core machine; nothing here asserts on time.
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(10);
    private static readonly string Configuration =
        typeof(PackagingTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release";

    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("pinhole-pack-");

    public void Dispose() => _temp.Delete(recursive: true);

    [Fact]
    public async Task Pinhole_tool_installs_from_a_local_feed_and_runs()
    {
        var feed = _temp.CreateSubdirectory("feed").FullName;
        var package = await PackAsync("src/Pinhole.Cli/Pinhole.Cli.csproj", feed, "Pinhole.Cli");

        using (var zip = ZipFile.OpenRead(package))
        {
            var nuspec = Nuspec(zip);
            Assert.Equal("DotnetTool", nuspec.Descendants(Ns(nuspec) + "packageType").Single().Attribute("name")?.Value);
            var settings = zip.GetEntry("tools/net10.0/any/DotnetToolSettings.xml");
            Assert.NotNull(settings);
            using var reader = new StreamReader(settings.Open());
            var command = XDocument.Parse(await reader.ReadToEndAsync()).Descendants("Command").Single();
            Assert.Equal("pinhole", command.Attribute("Name")?.Value);
            Assert.Equal("pinhole.dll", command.Attribute("EntryPoint")?.Value);
            // The tool is self-contained as a package: every Pinhole library it needs is inside it.
            foreach (var library in new[] { "Pinhole.Core", "Pinhole.Node", "Pinhole.Vpn", "Pinhole.Nat" })
            {
                Assert.NotNull(zip.GetEntry($"tools/net10.0/any/{library}.dll"));
            }
        }

        // Only the local feed: the install must not find the package anywhere else, and a package cache of its
        // own so an earlier run's Pinhole.Cli of the same version is never what gets installed.
        var config = Path.Combine(_temp.FullName, "nuget.config");
        await File.WriteAllTextAsync(config, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="local" value="{feed}" />
              </packageSources>
            </configuration>
            """);
        var version = Version(package, "Pinhole.Cli");
        var tools = Path.Combine(_temp.FullName, "tools");
        var install = await DotnetAsync(["tool", "install", "Pinhole.Cli", "--version", version, "--tool-path", tools, "--configfile", config],
            new Dictionary<string, string?> { ["NUGET_PACKAGES"] = Path.Combine(_temp.FullName, "nuget-packages") });
        install.EnsureSuccess();

        var pinhole = Path.Combine(tools, "pinhole");
        Assert.True(File.Exists(pinhole), $"no {pinhole} after: {install}");
        // The apphost shim finds the runtime through DOTNET_ROOT when dotnet is not in a default location.
        var runtime = new Dictionary<string, string?> { ["DOTNET_ROOT"] = DotnetRoot(), ["PINHOLE_HOME"] = Path.Combine(_temp.FullName, "home") };
        var versionRun = (await ExternalProcess.RunAsync(pinhole, ["--version"], Bound, runtime)).EnsureSuccess();
        Assert.StartsWith(version, versionRun.StandardOutput.Trim(), StringComparison.Ordinal);

        var help = (await ExternalProcess.RunAsync(pinhole, ["--help"], Bound, runtime)).EnsureSuccess();
        Assert.Contains("Usage:", help.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("pinhole [command] [options]", help.StandardOutput, StringComparison.Ordinal);
        foreach (var command in new[] { "id", "listen", "ping", "cat", "netcheck", "daemon" })
        {
            Assert.Matches($@"(?m)^\s+{command}\b", help.StandardOutput);
        }
    }

    [Fact]
    public async Task Library_package_has_readme_license_docs_dependencies_and_symbols()
    {
        var feed = _temp.CreateSubdirectory("feed").FullName;
        var package = await PackAsync("src/Pinhole.Ocapn/Pinhole.Ocapn.csproj", feed, "Pinhole.Ocapn");
        var version = Version(package, "Pinhole.Ocapn");

        using (var zip = ZipFile.OpenRead(package))
        {
            var nuspec = Nuspec(zip);
            var ns = Ns(nuspec);
            var metadata = nuspec.Root!.Element(ns + "metadata")!;
            Assert.Equal("Pinhole.Ocapn", metadata.Element(ns + "id")?.Value);
            Assert.False(string.IsNullOrWhiteSpace(metadata.Element(ns + "description")?.Value));
            var license = metadata.Element(ns + "license");
            Assert.Equal("expression", license?.Attribute("type")?.Value);
            Assert.Equal("MIT", license?.Value);
            Assert.Equal("README.md", metadata.Element(ns + "readme")?.Value);
            Assert.NotNull(zip.GetEntry("README.md"));
            // The layer below travels as a package dependency of the same version, not copied inside.
            var dependency = nuspec.Descendants(ns + "dependency").Single(d => d.Attribute("id")?.Value == "Pinhole.Core");
            Assert.Equal(version, dependency.Attribute("version")?.Value);
            Assert.NotNull(zip.GetEntry("lib/net10.0/Pinhole.Ocapn.dll"));
            Assert.NotNull(zip.GetEntry("lib/net10.0/Pinhole.Ocapn.xml")); // XML docs for IntelliSense
            Assert.Null(zip.GetEntry("lib/net10.0/Pinhole.Core.dll"));
        }

        var symbols = Path.ChangeExtension(package, ".snupkg");
        Assert.True(File.Exists(symbols), $"no symbol package {symbols}");
        using var snupkg = ZipFile.OpenRead(symbols);
        Assert.NotNull(snupkg.GetEntry("lib/net10.0/Pinhole.Ocapn.pdb"));
    }

    private async Task<string> PackAsync(string project, string feed, string id)
    {
        // --no-build: the binaries this test run was built from (test.sh builds the solution first).
        var pack = await DotnetAsync(["pack", RepoPaths.InRepo(project), "-c", Configuration, "--no-build", "--no-restore", "-nologo", "-o", feed]);
        pack.EnsureSuccess();
        var packages = Directory.GetFiles(feed, id + ".*.nupkg");
        Assert.True(packages.Length == 1, $"expected one {id} package in {feed}: {pack}");
        return packages[0];
    }

    private static Task<ProcessResult> DotnetAsync(IEnumerable<string> arguments, Dictionary<string, string?>? environment = null)
    {
        environment ??= [];
        environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        environment["DOTNET_NOLOGO"] = "1";
        environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        return ExternalProcess.RunAsync(Tools.Require("dotnet"), arguments, Bound, environment, RepoPaths.Root);
    }

    private static string Version(string package, string id) => Path.GetFileNameWithoutExtension(package)[(id.Length + 1)..];

    private static XDocument Nuspec(ZipArchive zip)
    {
        var entry = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal) && !e.FullName.Contains('/', StringComparison.Ordinal));
        using var stream = entry.Open();
        return XDocument.Load(stream);
    }

    private static XNamespace Ns(XDocument nuspec) => nuspec.Root!.Name.Namespace;

    private static string DotnetRoot()
    {
        var dotnet = new FileInfo(Tools.Require("dotnet"));
        var target = dotnet.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? dotnet.FullName;
        return Path.GetDirectoryName(target)!;
    }
}
