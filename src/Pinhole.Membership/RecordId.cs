using System.Security.Cryptography;
using System.Text;
using Pinhole.Codecs;

namespace Pinhole.Membership;

/// <summary>
/// A record's identity: SHA-256 over its kind and signed payload(s), never over signatures, so re-encoding or
/// re-signing the same content (ECDSA signatures are malleable) cannot make one record look like two.
/// </summary>
/// <remarks>
/// <code>
/// id = SHA-256( "pinhole-record-id-v1" 0x00 varint(kind) { varint(len(payload)) payload }* )
/// </code>
/// Payloads are taken in envelope order, each distinct payload once (an admin-signed record carries the same
/// payload under several signatures).
/// </remarks>
public readonly struct RecordId : IEquatable<RecordId>, IComparable<RecordId>
{
    /// <summary>Length of an id in bytes.</summary>
    public const int Length = 32;

    private static readonly byte[] Prefix = [.. Encoding.ASCII.GetBytes("pinhole-record-id-v1"), 0];

    private readonly byte[]? _bytes;

    private RecordId(byte[] bytes) => _bytes = bytes;

    /// <summary>The 32 id bytes.</summary>
    public ReadOnlySpan<byte> Span => _bytes ?? new byte[Length];

    /// <summary>The 32 id bytes.</summary>
    public ReadOnlyMemory<byte> Memory => _bytes ?? new byte[Length];

    /// <summary>Wraps 32 bytes as an id.</summary>
    public static RecordId FromBytes(ReadOnlySpan<byte> bytes) => bytes.Length == Length
        ? new RecordId(bytes.ToArray())
        : throw new FormatException($"A record id is {Length} bytes, not {bytes.Length}.");

    /// <summary>Computes the id of a record of <paramref name="kind"/> with the given distinct payloads.</summary>
    public static RecordId Compute(int kind, params ReadOnlySpan<ReadOnlyMemory<byte>> payloads)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Prefix);
        Span<byte> varint = stackalloc byte[Varint.MaxLength];
        hash.AppendData(varint[..Varint.Write(varint, (ulong)kind)]);
        foreach (var payload in payloads)
        {
            hash.AppendData(varint[..Varint.Write(varint, (ulong)payload.Length)]);
            hash.AppendData(payload.Span);
        }
        return new RecordId(hash.GetHashAndReset());
    }

    /// <summary>Lowercase hex.</summary>
    public override string ToString() => Convert.ToHexStringLower(Span);

    /// <summary>The first 12 hex digits, for logs.</summary>
    public string ToShortString() => Convert.ToHexStringLower(Span[..6]);

    /// <inheritdoc/>
    public bool Equals(RecordId other) => Span.SequenceEqual(other.Span);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is RecordId other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => BitConverter.ToInt32(Span);

    /// <inheritdoc/>
    public int CompareTo(RecordId other) => Span.SequenceCompareTo(other.Span);

    /// <summary>Equality.</summary>
    public static bool operator ==(RecordId left, RecordId right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(RecordId left, RecordId right) => !left.Equals(right);

    /// <summary>Ordering (bytewise).</summary>
    public static bool operator <(RecordId left, RecordId right) => left.CompareTo(right) < 0;

    /// <summary>Ordering (bytewise).</summary>
    public static bool operator >(RecordId left, RecordId right) => left.CompareTo(right) > 0;

    /// <summary>Ordering (bytewise).</summary>
    public static bool operator <=(RecordId left, RecordId right) => left.CompareTo(right) <= 0;

    /// <summary>Ordering (bytewise).</summary>
    public static bool operator >=(RecordId left, RecordId right) => left.CompareTo(right) >= 0;
}
