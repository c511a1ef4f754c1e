using Pinhole.Testing;

namespace Pinhole.Vpn.Tests;

/// <summary>A theory that needs network namespaces (and the tools named); skips saying why where they are unavailable.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class NetnsTheoryAttribute : TheoryAttribute
{
    public NetnsTheoryAttribute(params string[] tools)
    {
        Skip = NetworkNamespace.UnavailableReason ?? Tools.MissingReason(tools);
    }
}
