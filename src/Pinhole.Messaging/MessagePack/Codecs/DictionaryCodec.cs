namespace Pinhole.Messaging.MessagePack.Codecs;

/// <summary>A dictionary as a MessagePack map; nil reads as null; a repeated key is an error.</summary>
internal sealed class DictionaryCodec<TKey, TValue>(IMessageCodec<TKey> key, IMessageCodec<TValue> value, IEqualityComparer<TKey>? comparer)
    : IMessageCodec<Dictionary<TKey, TValue>?>
    where TKey : notnull
{
    public void Write(ref MessagePackWriter writer, Dictionary<TKey, TValue>? dictionary)
    {
        if (dictionary is null)
        {
            writer.WriteNil();
            return;
        }
        writer.WriteMapHeader(dictionary.Count);
        foreach (var pair in dictionary)
        {
            key.Write(ref writer, pair.Key);
            value.Write(ref writer, pair.Value);
        }
    }

    public Dictionary<TKey, TValue>? Read(ref MessagePackReader reader)
    {
        if (reader.TryReadNil())
        {
            return null;
        }
        int count = reader.ReadMapHeader();
        reader.EnterNested();
        var result = new Dictionary<TKey, TValue>(count, comparer);
        for (int i = 0; i < count; i++)
        {
            long start = reader.Consumed;
            var k = key.Read(ref reader);
            var v = value.Read(ref reader);
            if (!result.TryAdd(k, v))
            {
                throw new MessagePackException($"Map has the key {k} twice", start);
            }
        }
        reader.ExitNested();
        return result;
    }
}
