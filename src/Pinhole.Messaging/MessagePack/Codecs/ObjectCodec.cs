using System.Buffers;
using System.Collections;

namespace Pinhole.Messaging.MessagePack.Codecs;

/// <summary>
/// Any MessagePack value as a plain object tree: nil = null, bool, long (ulong above long.MaxValue),
/// float, double, string, byte[], object?[], Dictionary&lt;object, object?&gt;, MessagePackTimestamp,
/// MessagePackExtension. For inspection, tests and loosely typed messages; typed codecs are faster.
/// </summary>
internal sealed class ObjectCodec : IMessageCodec<object?>
{
    public static readonly ObjectCodec Instance = new();

    public void Write(ref MessagePackWriter writer, object? value)
    {
        switch (value)
        {
            case null: writer.WriteNil(); break;
            case bool b: writer.Write(b); break;
            case sbyte n: writer.Write(n); break;
            case byte n: writer.Write(n); break;
            case short n: writer.Write(n); break;
            case ushort n: writer.Write(n); break;
            case int n: writer.Write(n); break;
            case uint n: writer.Write(n); break;
            case long n: writer.Write(n); break;
            case ulong n: writer.Write(n); break;
            case float f: writer.Write(f); break;
            case double d: writer.Write(d); break;
            case string s: writer.Write(s); break;
            case byte[] bytes: writer.Write(bytes.AsSpan()); break;
            case ReadOnlyMemory<byte> memory: writer.Write(memory.Span); break;
            case MessagePackTimestamp ts: writer.Write(ts); break;
            case DateTimeOffset dto: writer.Write(dto); break;
            case DateTime dt: writer.Write(new DateTimeOffset(dt.ToUniversalTime())); break;
            case MessagePackExtension ext: writer.WriteExtension(ext.Type, ext.Data.Span); break;
            case IDictionary dictionary:
                writer.WriteMapHeader(dictionary.Count);
                foreach (DictionaryEntry entry in dictionary)
                {
                    Write(ref writer, entry.Key);
                    Write(ref writer, entry.Value);
                }
                break;
            case ICollection list:
                writer.WriteArrayHeader(list.Count);
                foreach (var item in list)
                {
                    Write(ref writer, item);
                }
                break;
            default:
                throw new ArgumentException($"No MessagePack form for {value.GetType()}; use a typed codec.", nameof(value));
        }
    }

    public object? Read(ref MessagePackReader reader)
    {
        long start = reader.Consumed;
        switch (reader.NextType)
        {
            case MessagePackType.Nil:
                reader.ReadNil();
                return null;
            case MessagePackType.Boolean:
                return reader.ReadBoolean();
            case MessagePackType.Integer:
                if (reader.NextCode == MessagePackCode.UInt64)
                {
                    ulong u = reader.ReadUInt64();
                    return u <= long.MaxValue ? (long)u : u;
                }
                return reader.ReadInt64();
            case MessagePackType.Float:
                return reader.NextCode == MessagePackCode.Float32 ? (object)reader.ReadSingle() : reader.ReadDouble();
            case MessagePackType.String:
                return reader.ReadString();
            case MessagePackType.Binary:
                return reader.ReadBytes().ToArray();
            case MessagePackType.Array:
            {
                int count = reader.ReadArrayHeader();
                reader.EnterNested();
                var array = count == 0 ? [] : new object?[count];
                for (int i = 0; i < count; i++)
                {
                    array[i] = Read(ref reader);
                }
                reader.ExitNested();
                return array;
            }
            case MessagePackType.Map:
            {
                int count = reader.ReadMapHeader();
                reader.EnterNested();
                var map = new Dictionary<object, object?>(count, ObjectEqualityComparer.Instance);
                for (int i = 0; i < count; i++)
                {
                    long keyStart = reader.Consumed;
                    var key = Read(ref reader) ?? throw new MessagePackException("A nil map key is not supported", keyStart);
                    if (!map.TryAdd(key, Read(ref reader)))
                    {
                        throw new MessagePackException($"Map has the key {key} twice", keyStart);
                    }
                }
                reader.ExitNested();
                return map;
            }
            case MessagePackType.Extension:
            {
                var copy = reader;
                var header = copy.ReadExtensionHeader();
                if (header.Type == MessagePackTimestamp.ExtensionType)
                {
                    return reader.ReadTimestamp();
                }
                var data = reader.ReadExtension(out sbyte type);
                return new MessagePackExtension(type, data.ToArray());
            }
            default:
                throw new MessagePackException("Byte 0xc1 is never used in MessagePack", start);
        }
    }
}
