namespace Pinhole.Nat;

/// <summary>One attribute of a parsed <see cref="StunMessage"/>: its type and its value (without padding).</summary>
/// <param name="Type">The attribute type (<see cref="StunAttributeType"/>).</param>
/// <param name="Value">The value bytes, a slice of the message's own copy of the datagram.</param>
/// <param name="Offset">Where the attribute's header starts in the message.</param>
public readonly record struct StunAttribute(ushort Type, ReadOnlyMemory<byte> Value, int Offset)
{
    /// <inheritdoc/>
    public override string ToString() => $"{StunAttributeType.Name(Type)} ({Value.Length} bytes)";
}
