namespace Pinhole.Messaging.MessagePack;

/// <summary>Helpers for hand-written codecs.</summary>
public static class MessagePackReaderExtensions
{
    /// <summary>
    /// Reads an array header and checks that it has at least <paramref name="minCount"/> elements; returns the
    /// actual count so the caller can skip trailing fields added by a newer version of the sender.
    /// </summary>
    public static int ReadArrayHeader(ref this MessagePackReader reader, int minCount)
    {
        long start = reader.Consumed;
        int count = reader.ReadArrayHeader();
        if (count < minCount)
        {
            throw new MessagePackException($"Expected an array of at least {minCount} elements but found {count}", start);
        }
        return count;
    }

    /// <summary>Skips <paramref name="count"/> values (e.g. trailing record fields this version does not know).</summary>
    public static void Skip(ref this MessagePackReader reader, int count)
    {
        for (int i = 0; i < count; i++)
        {
            reader.Skip();
        }
    }

    /// <summary>Reads a str value that must not be nil.</summary>
    public static string ReadRequiredString(ref this MessagePackReader reader)
    {
        long start = reader.Consumed;
        return reader.ReadString() ?? throw new MessagePackException("Expected str but found nil", start);
    }
}
