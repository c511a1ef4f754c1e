using System.Numerics;
using System.Text;
using Pinhole.Ocapn.Syrup;

namespace Pinhole.Ocapn.Tests;

public class SyrupPropertyTests
{
    internal static SyrupValue RandomValue(Random rng, int depth)
    {
        var kind = rng.Next(depth >= 4 ? 7 : 11);
        switch (kind)
        {
            case 0: return SyrupBoolean.From(rng.Next(2) == 0);
            case 1: return new SyrupFloat(BitConverter.Int32BitsToSingle(rng.Next(int.MinValue, int.MaxValue)));
            case 2: return new SyrupDouble(BitConverter.Int64BitsToDouble(rng.NextInt64(long.MinValue, long.MaxValue)));
            case 3:
            {
                var bytes = new byte[rng.Next(1, 40)];
                rng.NextBytes(bytes);
                var big = new BigInteger(bytes);
                return new SyrupInteger(rng.Next(3) == 0 ? rng.Next(-3, 3) : big);
            }
            case 4:
            {
                var bytes = new byte[rng.Next(0, 20)];
                rng.NextBytes(bytes);
                return new SyrupBytes(bytes);
            }
            case 5: return new SyrupString(RandomText(rng));
            case 6: return new SyrupSymbol(RandomText(rng));
            case 7: return new SyrupList(Many(rng, depth));
            case 8: return new SyrupSet(Many(rng, depth));
            case 9: return new SyrupRecord(RandomValue(rng, depth + 1), Many(rng, depth));
            default:
                return new SyrupDictionary(Many(rng, depth)
                    .Select(k => new KeyValuePair<SyrupValue, SyrupValue>(k, RandomValue(rng, depth + 1)))
                    .DistinctBy(e => Convert.ToHexString(e.Key.Encode())));
        }
    }

    private static List<SyrupValue> Many(Random rng, int depth) =>
        Enumerable.Range(0, rng.Next(0, 5)).Select(_ => RandomValue(rng, depth + 1)).ToList();

    private static string RandomText(Random rng)
    {
        var sb = new StringBuilder();
        var n = rng.Next(0, 12);
        for (var i = 0; i < n; i++)
        {
            var r = rng.Next(10);
            sb.Append(r switch
            {
                < 6 => ((char)rng.Next(0x20, 0x7f)).ToString(),
                < 8 => ((char)rng.Next(0xa0, 0xd7ff)).ToString(),
                < 9 => char.ConvertFromUtf32(rng.Next(0x10000, 0x10ffff)),
                _ => "\"'{}[]<>#$:+-",
            });
        }
        return sb.ToString();
    }

    public static IEnumerable<object[]> Seeds() => Enumerable.Range(1, 40).Select(i => new object[] { i * 7919 });

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Random_values_round_trip(int seed)
    {
        var rng = new Random(seed);
        for (var i = 0; i < 25; i++)
        {
            var value = RandomValue(rng, 0);
            var bytes = value.Encode();
            var decoded = SyrupReader.Decode(bytes);
            Assert.Equal(value, decoded);
            Assert.Equal(value.GetHashCode(), decoded.GetHashCode());
            Assert.Equal(bytes, decoded.Encode());
        }
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Every_strict_prefix_needs_more_data(int seed)
    {
        var rng = new Random(seed);
        var bytes = RandomValue(rng, 0).Encode();
        for (var n = 0; n < bytes.Length; n++)
        {
            Assert.Equal(SyrupReadStatus.NeedMoreData, SyrupReader.TryRead(bytes.AsSpan(0, n), out var v, out var consumed));
            Assert.Null(v);
            Assert.Equal(0, consumed);
        }
        Assert.Equal(SyrupReadStatus.Complete, SyrupReader.TryRead(bytes, out _, out var all));
        Assert.Equal(bytes.Length, all);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Stream_reader_reads_consecutive_values_from_a_trickling_stream(int seed)
    {
        var rng = new Random(seed);
        var values = Enumerable.Range(0, 30).Select(_ => RandomValue(rng, 0)).ToList();
        values.Add(new SyrupBytes(new byte[100_000]));
        values.Add(SyrupBoolean.True);
        var wire = values.SelectMany(v => v.Encode()).ToArray();
        using var reader = new SyrupStreamReader(new TricklingStream(wire, rng));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        foreach (var expected in values)
        {
            Assert.Equal(expected, await reader.ReadAsync(cts.Token));
        }
        Assert.Null(await reader.ReadAsync(cts.Token));
    }

    [Fact]
    public async Task Stream_reader_reports_a_value_cut_off_by_end_of_stream()
    {
        using var reader = new SyrupStreamReader(new MemoryStream("[1+2+"u8.ToArray()));
        var ex = await Assert.ThrowsAsync<SyrupFormatException>(async () => await reader.ReadAsync());
        Assert.Contains("ended inside", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>Returns data in random small pieces, like a slow network.</summary>
    private sealed class TricklingStream(byte[] data, Random rng) : Stream
    {
        private int _pos;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => data.Length;
        public override long Position { get => _pos; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = Math.Min(Math.Min(count, data.Length - _pos), rng.Next(1, 5000));
            Array.Copy(data, _pos, buffer, offset, n);
            _pos += n;
            return n;
        }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
