using System.Buffers;
using System.Security.Cryptography;
using Pinhole.Codecs;
using Pinhole.Membership.Internal;

namespace Pinhole.Membership;

/// <summary>
/// The verified records a node keeps on disk, so it can restart and keep checking its peers while the coordinator is
/// down. Loading verifies every record again (the file is only as trusted as the disk it is on) and the view enforces
/// expiry at load time as always.
/// </summary>
/// <remarks>
/// <code>
/// file = "PHNC" 0x01                        magic, version
///        network[32]                        NetworkId
///        varint cursor                      the coordinator change cursor the records are current to
///        varint count                       number of records, at most 262144
///        { varint(len) RecordBlob }*count   genesis first (see NetworkRecord)
///        sha256[32]                         over everything before it (detects truncation and corruption)
/// </code>
/// </remarks>
public static class NetworkCache
{
    /// <summary>Largest cache file read.</summary>
    public const int MaxFileLength = 64 * 1024 * 1024;

    /// <summary>Most records in a cache file.</summary>
    public const int MaxRecords = 262_144;

    private static ReadOnlySpan<byte> Magic => "PHNC"u8;
    private const byte Version = 1;

    /// <summary>The raw contents of a cache file (records not yet decoded).</summary>
    /// <param name="Network">The network.</param>
    /// <param name="Cursor">The coordinator cursor.</param>
    /// <param name="Records">The encoded records, genesis first.</param>
    public sealed record Contents(NetworkId Network, ulong Cursor, IReadOnlyList<ReadOnlyMemory<byte>> Records);

    /// <summary>Encodes a cache file.</summary>
    public static byte[] Encode(NetworkId network, ulong cursor, IReadOnlyCollection<NetworkRecord> records)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(records);
        var size = records.Sum(r => r.Encoded.Length + 5) + 64;
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(size);
        buffer.Write(Magic);
        buffer.Write([Version]);
        buffer.Write(network.Bytes.Span);
        WriteVarint(buffer, cursor);
        WriteVarint(buffer, (ulong)records.Count);
        foreach (var record in records)
        {
            WriteVarint(buffer, (ulong)record.Encoded.Length);
            buffer.Write(record.Encoded.Span);
        }
        var hash = SHA256.HashData(buffer.WrittenSpan);
        buffer.Write(hash);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Decodes a cache file's structure and checksum; throws <see cref="FormatException"/> saying what is wrong.</summary>
    public static Contents Decode(ReadOnlySpan<byte> file)
    {
        const int Header = 5 + RecordId.Length;
        if (file.Length > MaxFileLength)
        {
            throw new FormatException($"Cache file is {file.Length} bytes; at most {MaxFileLength} are read.");
        }
        if (file.Length < Header + 2 + SHA256.HashSizeInBytes || !file[..4].SequenceEqual(Magic))
        {
            throw new FormatException("Not a Pinhole network cache file.");
        }
        if (file[4] != Version)
        {
            throw new FormatException($"Cache file version {file[4]} is not supported (expected {Version}).");
        }
        var body = file[..^SHA256.HashSizeInBytes];
        if (!SHA256.HashData(body).AsSpan().SequenceEqual(file[^SHA256.HashSizeInBytes..]))
        {
            throw new FormatException("Cache file checksum does not match (truncated or corrupted).");
        }
        var network = NetworkId.FromBytes(body.Slice(5, RecordId.Length));
        var at = Header;
        var cursor = ReadVarint(body, ref at);
        var count = ReadVarint(body, ref at);
        if (count > MaxRecords)
        {
            throw new FormatException($"Cache file holds {count} records; at most {MaxRecords} are accepted.");
        }
        var copy = body.ToArray();
        var records = new List<ReadOnlyMemory<byte>>((int)count);
        for (var i = 0UL; i < count; i++)
        {
            var length = ReadVarint(body, ref at);
            if (length > (ulong)NetworkRecord.MaxEncodedLength || length > (ulong)(body.Length - at))
            {
                throw new FormatException($"Cache file record {i} declares {length} bytes; {body.Length - at} remain.");
            }
            records.Add(copy.AsMemory(at, (int)length));
            at += (int)length;
        }
        if (at != body.Length)
        {
            throw new FormatException($"Cache file has {body.Length - at} bytes after its last record.");
        }
        return new Contents(network, cursor, records);
    }

    /// <summary>
    /// Rebuilds a <see cref="NetworkState"/> from decoded contents: the first record must be the genesis of
    /// <see cref="Contents.Network"/>; every other record is decoded and applied as if it had just arrived, and one
    /// that no longer holds (expired, malformed) is dropped and counted.
    /// </summary>
    public static (NetworkState State, int Dropped) Restore(Contents contents, DateTimeOffset now, TimeSpan? clockSkew = null)
    {
        ArgumentNullException.ThrowIfNull(contents);
        if (contents.Records.Count == 0 || NetworkRecord.Decode(contents.Records[0].Span) is not GenesisRecord genesis)
        {
            throw new FormatException("Cache file does not start with a genesis record.");
        }
        if (!genesis.Network.Equals(contents.Network))
        {
            throw new MembershipException(MembershipError.WrongNetwork, $"Cache file is for {contents.Network} but holds the genesis of {genesis.Network}.");
        }
        var state = new NetworkState(genesis, clockSkew);
        var decoded = new List<NetworkRecord>(contents.Records.Count);
        var dropped = 0;
        foreach (var blob in contents.Records.Skip(1))
        {
            try
            {
                decoded.Add(NetworkRecord.Decode(blob.Span));
            }
            catch (Exception e) when (e is FormatException or MembershipException)
            {
                dropped++;
            }
        }
        foreach (var record in NetworkState.InApplyOrder(decoded))
        {
            if (state.Apply(record, now).Status == ApplyStatus.Rejected)
            {
                dropped++;
            }
        }
        return (state, dropped);
    }

    /// <summary>Writes the cache atomically (mode 0600).</summary>
    public static Task SaveAsync(string path, NetworkState state, ulong cursor, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(state);
        var bytes = Encode(state.Network, cursor, [.. state.Records]);
        return PrivateFile.ReplaceAsync(path, bytes, cancellationToken);
    }

    /// <summary>Reads, checks and restores a cache file.</summary>
    public static async Task<(NetworkState State, ulong Cursor, int Dropped)> LoadAsync(string path, DateTimeOffset now, TimeSpan? clockSkew = null, CancellationToken cancellationToken = default)
    {
        var bytes = await PrivateFile.ReadAsync(path, MaxFileLength, cancellationToken).ConfigureAwait(false);
        Contents contents;
        try
        {
            contents = Decode(bytes);
        }
        catch (FormatException e)
        {
            throw new FormatException($"Cache file '{path}': {e.Message}", e);
        }
        var (state, dropped) = Restore(contents, now, clockSkew);
        return (state, contents.Cursor, dropped);
    }

    private static void WriteVarint(System.Buffers.ArrayBufferWriter<byte> buffer, ulong value)
    {
        var span = buffer.GetSpan(Varint.MaxLength);
        buffer.Advance(Varint.Write(span, value));
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> body, ref int at)
    {
        var value = Varint.Read(body[at..], out var read, Varint.MaxLength);
        at += read;
        return value;
    }
}
