namespace Pinhole.Fuzz;

/// <summary>
/// A small deterministic mutator for the in-process smoke run (CI): bit flips, interesting bytes, inserts,
/// deletes, duplicated and spliced chunks over the corpus. Not a replacement for AFL++'s coverage-guided search;
/// it replays the corpus and shakes it a few thousand times so that a parser regression shows up in every build.
/// </summary>
public sealed class Mutator(int seed)
{
    private static readonly byte[] Interesting = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe, 0x10, 0x40, 0x20, 0x0a, 0x16, 0x03];
    private readonly Random _random = new(seed);

    public byte[] Mutate(IReadOnlyList<byte[]> corpus)
    {
        var input = corpus.Count == 0 ? [] : corpus[_random.Next(corpus.Count)];
        var data = new List<byte>(input);
        var rounds = 1 + _random.Next(4);
        for (var i = 0; i < rounds; i++)
        {
            switch (_random.Next(7))
            {
                case 0 when data.Count > 0:
                    var bit = _random.Next(data.Count * 8);
                    data[bit / 8] ^= (byte)(1 << (bit % 8));
                    break;
                case 1 when data.Count > 0:
                    data[_random.Next(data.Count)] = Interesting[_random.Next(Interesting.Length)];
                    break;
                case 2:
                    data.Insert(_random.Next(data.Count + 1), (byte)_random.Next(256));
                    break;
                case 3 when data.Count > 0:
                    var at = _random.Next(data.Count);
                    data.RemoveRange(at, Math.Min(data.Count - at, 1 + _random.Next(8)));
                    break;
                case 4 when data.Count > 0:
                    var from = _random.Next(data.Count);
                    var chunk = data.GetRange(from, Math.Min(data.Count - from, 1 + _random.Next(16)));
                    data.InsertRange(_random.Next(data.Count + 1), chunk);
                    break;
                case 5 when corpus.Count > 1:
                    var other = corpus[_random.Next(corpus.Count)];
                    if (other.Length > 0)
                    {
                        var start = _random.Next(other.Length);
                        data.InsertRange(_random.Next(data.Count + 1), other.AsSpan(start, Math.Min(other.Length - start, 1 + _random.Next(32))).ToArray());
                    }
                    break;
                case 6 when data.Count > 0:
                    var keep = _random.Next(data.Count); // truncate
                    data.RemoveRange(keep, data.Count - keep);
                    break;
                default:
                    data.Add((byte)_random.Next(256));
                    break;
            }
        }
        return [.. data];
    }
}
