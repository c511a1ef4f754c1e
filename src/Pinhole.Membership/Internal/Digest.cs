using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Pinhole.Membership.Internal;

/// <summary>A SHA-256 value as four words, so it can key a dictionary without allocating.</summary>
internal readonly record struct Digest(ulong A, ulong B, ulong C, ulong D)
{
    public static Digest Of(ReadOnlySpan<byte> hash) => new(
        BinaryPrimitives.ReadUInt64BigEndian(hash),
        BinaryPrimitives.ReadUInt64BigEndian(hash[8..]),
        BinaryPrimitives.ReadUInt64BigEndian(hash[16..]),
        BinaryPrimitives.ReadUInt64BigEndian(hash[24..]));

    public static Digest Hash(ReadOnlySpan<byte> data)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(data, hash);
        return Of(hash);
    }
}
