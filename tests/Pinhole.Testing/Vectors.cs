namespace Pinhole.Testing;

/// <summary>A fact that skips, saying why, when a file under <c>../shared/vectors</c> is absent (<see cref="RepoPaths.FindVector"/>).</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class VectorFactAttribute : FactAttribute
{
    /// <summary>Requires <c>../shared/vectors/<paramref name="relative"/></c>.</summary>
    public VectorFactAttribute(string relative) => Skip = RepoPaths.VectorMissingReason(relative);
}

/// <summary>A theory that skips, saying why, when a file under <c>../shared/vectors</c> is absent.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class VectorTheoryAttribute : TheoryAttribute
{
    /// <summary>Requires <c>../shared/vectors/<paramref name="relative"/></c>.</summary>
    public VectorTheoryAttribute(string relative) => Skip = RepoPaths.VectorMissingReason(relative);
}
