using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Pinhole.Nat;

/// <summary>The 96-bit transaction ID of a STUN message (RFC 8489 §5): random per request, echoed by the response.</summary>
public readonly record struct StunTransactionId
{
    private readonly ulong _high;
    private readonly uint _low;

    private StunTransactionId(ulong high, uint low)
    {
        _high = high;
        _low = low;
    }

    /// <summary>Length on the wire.</summary>
    public const int Length = 12;

    /// <summary>A fresh ID from the cryptographic random generator (the RFC asks for uniform randomness).</summary>
    public static StunTransactionId NewRandom()
    {
        Span<byte> bytes = stackalloc byte[Length];
        RandomNumberGenerator.Fill(bytes);
        return Read(bytes);
    }

    /// <summary>Reads 12 bytes.</summary>
    public static StunTransactionId Read(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < Length)
        {
            throw new ArgumentException("A STUN transaction ID is 12 bytes.", nameof(bytes));
        }
        return new StunTransactionId(BinaryPrimitives.ReadUInt64BigEndian(bytes), BinaryPrimitives.ReadUInt32BigEndian(bytes[8..]));
    }

    /// <summary>Writes the 12 bytes.</summary>
    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, _high);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], _low);
    }

    /// <summary>Hex, for logs.</summary>
    public override string ToString() => $"{_high:x16}{_low:x8}";
}
