namespace Pinhole.Messaging.MessagePack.Codecs;

/// <summary>A T[] as a MessagePack array; nil reads as null.</summary>
internal sealed class ArrayCodec<T>(IMessageCodec<T> element) : IMessageCodec<T[]?>
{
    public void Write(ref MessagePackWriter writer, T[]? value)
    {
        if (value is null)
        {
            writer.WriteNil();
            return;
        }
        writer.WriteArrayHeader(value.Length);
        foreach (var item in value)
        {
            element.Write(ref writer, item);
        }
    }

    public T[]? Read(ref MessagePackReader reader)
    {
        if (reader.TryReadNil())
        {
            return null;
        }
        // The count was checked against the remaining input before we allocate for it.
        int count = reader.ReadArrayHeader();
        reader.EnterNested();
        var result = count == 0 ? [] : new T[count];
        for (int i = 0; i < count; i++)
        {
            result[i] = element.Read(ref reader);
        }
        reader.ExitNested();
        return result;
    }
}
