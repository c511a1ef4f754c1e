using System.Globalization;
using System.Numerics;
using System.Text.Json;
using Pinhole.Messaging.MessagePack;
using Pinhole.Messaging.Tests.Support;

namespace Pinhole.Messaging.Tests.MessagePack;

/// <summary>
/// Runs every case of the public msgpack test suite (npm msgpack-test-suite, kawanet/msgpack-test-suite):
/// each listed encoding must decode to the case's value, and our encoding of the value must be one of
/// the listed encodings.
/// </summary>
public class MsgpackTestSuiteTests
{
    [MsgpackSuiteFact]
    public void Every_case_of_the_public_suite_decodes_and_encodes()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(MsgpackSuite.Path!));
        var failures = new List<string>();
        int cases = 0, encodings = 0;
        foreach (var group in json.RootElement.EnumerateObject())
        {
            int index = 0;
            foreach (var testCase in group.Value.EnumerateArray())
            {
                cases++;
                string name = $"{group.Name}[{index++}]";
                var (kind, expected) = ExpectedOf(testCase);
                var listed = testCase.GetProperty("msgpack").EnumerateArray().Select(e => Msgpack.Hex(e.GetString()!)).ToList();
                foreach (var encoded in listed)
                {
                    encodings++;
                    try
                    {
                        var reader = new MessagePackReader(Msgpack.Fragmented(encoded, encodings));
                        var decoded = MessageCodec.Object.Read(ref reader);
                        if (!reader.End)
                        {
                            failures.Add($"{name}: {Msgpack.ToHex(encoded)} left {reader.Remaining} bytes");
                        }
                        else if (!Matches(kind, expected, decoded))
                        {
                            failures.Add($"{name}: {Msgpack.ToHex(encoded)} decoded to {Show(decoded)}");
                        }
                    }
                    catch (MessagePackException e)
                    {
                        failures.Add($"{name}: {Msgpack.ToHex(encoded)} failed: {e.Message}");
                    }
                }
                var ours = Msgpack.Bytes((ref MessagePackWriter w) => Encode(ref w, kind, expected));
                if (!listed.Any(l => l.AsSpan().SequenceEqual(ours)))
                {
                    failures.Add($"{name}: our encoding {Msgpack.ToHex(ours)} is not among those listed");
                }
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.True(cases >= 70, $"only {cases} cases found");
        Assert.True(encodings >= 200, $"only {encodings} encodings found");
    }

    private static (string Kind, JsonElement Value) ExpectedOf(JsonElement testCase)
    {
        // bignum carries 64-bit values that JSON numbers cannot hold exactly; prefer it.
        if (testCase.TryGetProperty("bignum", out var big))
        {
            return ("bignum", big);
        }
        foreach (var property in testCase.EnumerateObject())
        {
            if (property.Name != "msgpack")
            {
                return (property.Name, property.Value);
            }
        }
        throw new InvalidOperationException("case without a value");
    }

    private static bool Matches(string kind, JsonElement expected, object? actual) => kind switch
    {
        "nil" => actual is null,
        "bool" => actual is bool b && b == expected.GetBoolean(),
        "binary" => actual is byte[] bytes && bytes.AsSpan().SequenceEqual(Msgpack.Hex(expected.GetString()!)),
        "bignum" => actual switch
        {
            long l => new BigInteger(l) == BigInteger.Parse(expected.GetString()!, CultureInfo.InvariantCulture),
            ulong u => new BigInteger(u) == BigInteger.Parse(expected.GetString()!, CultureInfo.InvariantCulture),
            double d => d == double.Parse(expected.GetString()!, CultureInfo.InvariantCulture),
            float f => f == float.Parse(expected.GetString()!, CultureInfo.InvariantCulture),
            _ => false,
        },
        "timestamp" => actual is MessagePackTimestamp ts && ts.Seconds == expected[0].GetInt64() && ts.Nanoseconds == expected[1].GetUInt32(),
        "ext" => actual is MessagePackExtension ext && ext.Type == expected[0].GetInt32() && ext.Data.Span.SequenceEqual(Msgpack.Hex(expected[1].GetString()!)),
        _ => MatchesJson(expected, actual),
    };

    private static bool MatchesJson(JsonElement expected, object? actual) => expected.ValueKind switch
    {
        JsonValueKind.Null => actual is null,
        JsonValueKind.True => actual is true,
        JsonValueKind.False => actual is false,
        JsonValueKind.Number => actual switch
        {
            long l => l == expected.GetDouble(),
            ulong u => u == expected.GetDouble(),
            double d => d == expected.GetDouble(),
            float f => f == expected.GetDouble(),
            _ => false,
        },
        JsonValueKind.String => actual is string s && s == expected.GetString(),
        JsonValueKind.Array => actual is object?[] array && array.Length == expected.GetArrayLength()
            && expected.EnumerateArray().Select((e, i) => MatchesJson(e, array[i])).All(x => x),
        JsonValueKind.Object => actual is Dictionary<object, object?> map && map.Count == expected.EnumerateObject().Count()
            && expected.EnumerateObject().All(p => map.TryGetValue(p.Name, out var v) && MatchesJson(p.Value, v)),
        _ => false,
    };

    private static void Encode(ref MessagePackWriter writer, string kind, JsonElement value)
    {
        switch (kind)
        {
            case "binary":
                writer.Write(Msgpack.Hex(value.GetString()!).AsSpan());
                break;
            case "bignum":
                var big = BigInteger.Parse(value.GetString()!, CultureInfo.InvariantCulture);
                if (big.Sign < 0)
                {
                    writer.Write((long)big);
                }
                else
                {
                    writer.Write((ulong)big);
                }
                break;
            case "timestamp":
                writer.Write(new MessagePackTimestamp(value[0].GetInt64(), value[1].GetUInt32()));
                break;
            case "ext":
                writer.WriteExtension((sbyte)value[0].GetInt32(), Msgpack.Hex(value[1].GetString()!));
                break;
            default:
                EncodeJson(ref writer, value);
                break;
        }
    }

    private static void EncodeJson(ref MessagePackWriter writer, JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Null: writer.WriteNil(); break;
            case JsonValueKind.True: writer.Write(true); break;
            case JsonValueKind.False: writer.Write(false); break;
            case JsonValueKind.String: writer.Write(value.GetString()); break;
            case JsonValueKind.Number:
                if (value.TryGetInt64(out long l))
                {
                    writer.Write(l);
                }
                else
                {
                    writer.Write(value.GetDouble());
                }
                break;
            case JsonValueKind.Array:
                writer.WriteArrayHeader(value.GetArrayLength());
                foreach (var item in value.EnumerateArray())
                {
                    EncodeJson(ref writer, item);
                }
                break;
            case JsonValueKind.Object:
                writer.WriteMapHeader(value.EnumerateObject().Count());
                foreach (var property in value.EnumerateObject())
                {
                    writer.Write(property.Name);
                    EncodeJson(ref writer, property.Value);
                }
                break;
            default:
                throw new InvalidOperationException($"unexpected JSON {value.ValueKind}");
        }
    }

    private static string Show(object? value) => value switch
    {
        null => "nil",
        object?[] a => "[" + string.Join(", ", a.Select(Show)) + "]",
        byte[] b => "bin " + Msgpack.ToHex(b),
        _ => $"{value} ({value.GetType().Name})",
    };
}
