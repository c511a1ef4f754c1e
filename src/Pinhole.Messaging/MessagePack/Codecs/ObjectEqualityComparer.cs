using System.Collections;

namespace Pinhole.Messaging.MessagePack.Codecs;

/// <summary>Compares decoded keys by value, including byte[] and object?[] contents.</summary>
internal sealed class ObjectEqualityComparer : IEqualityComparer<object>
{
    public static readonly ObjectEqualityComparer Instance = new();

    public new bool Equals(object? x, object? y) => (x, y) switch
    {
        (byte[] a, byte[] b) => a.AsSpan().SequenceEqual(b),
        (IStructuralEquatable a, _) when y is not null => a.Equals(y, StructuralComparisons.StructuralEqualityComparer),
        _ => object.Equals(x, y),
    };

    public int GetHashCode(object obj) => obj switch
    {
        byte[] bytes => bytes.Length,
        IStructuralEquatable s => s.GetHashCode(StructuralComparisons.StructuralEqualityComparer),
        _ => obj.GetHashCode(),
    };
}
