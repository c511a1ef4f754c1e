using System.Reflection;

namespace Pinhole.Cli.Tests;

/// <summary>Locks the layering of docs/architecture.md: a lower layer never references a higher one.</summary>
public class ArchitectureTests
{
    // Allowed Pinhole references per assembly (anything not listed may not reference any Pinhole assembly).
    private static readonly Dictionary<string, string[]> Allowed = new()
    {
        ["Pinhole.Core"] = [],
        ["Pinhole.Dtls"] = ["Pinhole.Core"],
        ["Pinhole.Messaging"] = ["Pinhole.Core"],
        ["Pinhole.Ocapn"] = ["Pinhole.Core"],
        ["Pinhole.Nat"] = ["Pinhole.Core", "Pinhole.Dtls"],
        ["Pinhole.Membership"] = ["Pinhole.Core"],
        ["Pinhole.Coordinator"] = ["Pinhole.Core", "Pinhole.Membership"],
        ["Pinhole.Node"] = ["Pinhole.Core", "Pinhole.Dtls", "Pinhole.Messaging", "Pinhole.Ocapn", "Pinhole.Nat", "Pinhole.Membership"],
        ["Pinhole.Vpn"] = ["Pinhole.Core", "Pinhole.Dtls", "Pinhole.Nat", "Pinhole.Membership", "Pinhole.Node"],
        ["pinhole"] = ["Pinhole.Core", "Pinhole.Dtls", "Pinhole.Messaging", "Pinhole.Ocapn", "Pinhole.Nat", "Pinhole.Membership", "Pinhole.Coordinator", "Pinhole.Node", "Pinhole.Vpn"],
    };

    public static TheoryData<string> Assemblies() => [.. Allowed.Keys];

    [Theory]
    [MemberData(nameof(Assemblies))]
    public void LayersReferenceOnlyLowerLayers(string assemblyName)
    {
        var assembly = Assembly.Load(assemblyName);
        var pinholeReferences = assembly.GetReferencedAssemblies()
            .Select(a => a.Name!)
            .Where(n => n.StartsWith("Pinhole", StringComparison.OrdinalIgnoreCase) || n == "pinhole")
            .ToList();
        var unexpected = pinholeReferences.Except(Allowed[assemblyName]).ToList();
        Assert.True(unexpected.Count == 0, $"{assemblyName} must not reference {string.Join(", ", unexpected)}");
    }

    [Fact]
    public void EveryPinholeAssemblyIsCovered()
    {
        var directory = AppContext.BaseDirectory;
        var found = Directory.GetFiles(directory, "Pinhole.*.dll")
            .Select(Path.GetFileNameWithoutExtension)
            .Where(n => n is not null && !n.EndsWith(".Tests", StringComparison.Ordinal) && n != "Pinhole.Testing")
            .ToList();
        Assert.All(found, n => Assert.True(Allowed.ContainsKey(n!), $"{n} has no layering rule in {nameof(ArchitectureTests)}"));
    }
}
