namespace Pinhole.Messaging.MessagePack.Codecs;

/// <summary>A list as a MessagePack array; nil reads as null.</summary>
internal sealed class ListCodec<T>(IMessageCodec<T> element) : IMessageCodec<List<T>?>
{
    public void Write(ref MessagePackWriter writer, List<T>? value)
    {
        if (value is null)
        {
            writer.WriteNil();
            return;
        }
        writer.WriteArrayHeader(value.Count);
        foreach (var item in value)
        {
            element.Write(ref writer, item);
        }
    }

    public List<T>? Read(ref MessagePackReader reader)
    {
        if (reader.TryReadNil())
        {
            return null;
        }
        int count = reader.ReadArrayHeader();
        reader.EnterNested();
        var result = new List<T>(count);
        for (int i = 0; i < count; i++)
        {
            result.Add(element.Read(ref reader));
        }
        reader.ExitNested();
        return result;
    }
}
