using System.Buffers;
using Pinhole.Messaging.MessagePack;

namespace Pinhole.Messaging.Tests.Support;

internal delegate void WriteBody(ref MessagePackWriter writer);

internal static class Msgpack
{
    public static byte[] Bytes(WriteBody body)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        body(ref writer);
        return buffer.WrittenSpan.ToArray();
    }

    public static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace("-", "", StringComparison.Ordinal).Replace(" ", "", StringComparison.Ordinal));

    public static string ToHex(ReadOnlySpan<byte> bytes) => Convert.ToHexString(bytes).ToLowerInvariant();

    /// <summary>Splits data into a multi-segment sequence (segments of 1..3 bytes) to exercise segment boundaries.</summary>
    public static ReadOnlySequence<byte> Fragmented(byte[] data, int seed = 1)
    {
        if (data.Length == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }
        var random = new Random(seed);
        Segment? first = null, last = null;
        for (int i = 0; i < data.Length;)
        {
            int n = Math.Min(random.Next(1, 4), data.Length - i);
            var seg = new Segment(data.AsMemory(i, n));
            if (first is null)
            {
                first = last = seg;
            }
            else
            {
                last = last!.Append(seg);
            }
            i += n;
        }
        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

        public Segment Append(Segment next)
        {
            next.RunningIndex = RunningIndex + Memory.Length;
            Next = next;
            return next;
        }
    }
}

internal delegate void ReadBody(ref MessagePackReader reader);

internal static class MsgpackAssert
{
    /// <summary>Runs <paramref name="body"/> over <paramref name="data"/> and returns the MessagePackException it must throw.</summary>
    public static MessagePackException Fails(byte[] data, ReadBody body, MessagePackReaderOptions? options = null)
    {
        try
        {
            var reader = new MessagePackReader(data, options);
            body(ref reader);
        }
        catch (MessagePackException e)
        {
            return e;
        }
        throw Xunit.Sdk.ThrowsException.ForNoException(typeof(MessagePackException));
    }
}
