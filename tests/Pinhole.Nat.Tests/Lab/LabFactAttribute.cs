using Pinhole.Testing.Netlab;

namespace Pinhole.Nat.Tests.Lab;

/// <summary>A fact that needs the NAT lab (root, namespaces, conntrack; coturn and miniupnpd where asked).</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class LabFactAttribute : FactAttribute
{
    public LabFactAttribute(bool coturn = false, bool portMapping = false)
    {
        Skip = NatLab.UnavailableReason(coturn, portMapping);
    }
}

/// <summary>A theory that needs the NAT lab (see <see cref="LabFactAttribute"/>).</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class LabTheoryAttribute : TheoryAttribute
{
    public LabTheoryAttribute(bool coturn = false, bool portMapping = false)
    {
        Skip = NatLab.UnavailableReason(coturn, portMapping);
    }
}
