using System.Buffers;
using Pinhole.Codecs;

namespace Pinhole.Messaging.Internal;

/// <summary>The kind of a frame on a channel stream.</summary>
internal enum ChannelFrameType : byte
{
    /// <summary>Sender to receiver: one message; the body is one MessagePack value.</summary>
    Message = 0,
    /// <summary>Sender to receiver: the sender closed the channel with an error; body = msgpack str (the reason).</summary>
    Error = 1,
    /// <summary>Receiver to sender: the receiver stopped reading; body = msgpack str or nil (the reason).</summary>
    Stop = 2,
}

/// <summary>
/// Frames on a channel stream. Pure functions over buffers.
/// <code>
/// +----------------------+--------+---------------------------+
/// | length (uvarint)     | type   | body (length - 1 bytes)   |
/// | 1..5 bytes           | 1 byte | MessagePack value         |
/// +----------------------+--------+---------------------------+
/// </code>
/// length counts the type byte and the body. The end of the stream (half-close) at a frame boundary is a
/// graceful close; anywhere else it is a protocol violation.
/// </summary>
internal static class ChannelFrame
{
    /// <summary>Longest length prefix we accept (uvarint of a 32-bit value).</summary>
    public const int MaxPrefixLength = 5;

    /// <summary>Writes the prefix and type of a frame whose body is <paramref name="bodyLength"/> bytes.</summary>
    public static void WriteHeader(IBufferWriter<byte> output, ChannelFrameType type, int bodyLength)
    {
        var span = output.GetSpan(MaxPrefixLength + 1);
        int n = Varint.Write(span, (ulong)bodyLength + 1);
        span[n] = (byte)type;
        output.Advance(n + 1);
    }

    /// <summary>Writes the prefix and type of a frame whose body is <paramref name="bodyLength"/> bytes into
    /// <paramref name="destination"/> (at least <see cref="MaxPrefixLength"/> + 1 bytes); returns the bytes written.</summary>
    public static int WriteHeader(Span<byte> destination, ChannelFrameType type, int bodyLength)
    {
        int n = Varint.Write(destination, (ulong)bodyLength + 1);
        destination[n] = (byte)type;
        return n + 1;
    }

    /// <summary>
    /// Takes one frame from the front of <paramref name="buffer"/> if it is complete.
    /// </summary>
    /// <returns>False when more bytes are needed.</returns>
    /// <exception cref="PeerException">A malformed prefix or a frame above <paramref name="maxBodyLength"/> (checked before buffering it).</exception>
    public static bool TryRead(ref ReadOnlySequence<byte> buffer, int maxBodyLength, out ChannelFrameType type, out ReadOnlySequence<byte> body)
    {
        type = default;
        body = default;
        // Fast path: the prefix lies in the first segment (nearly always); otherwise gather it.
        var first = buffer.FirstSpan;
        Span<byte> gathered = stackalloc byte[MaxPrefixLength];
        scoped ReadOnlySpan<byte> prefix;
        if (first.Length >= MaxPrefixLength || first.Length == buffer.Length)
        {
            prefix = first[..Math.Min(first.Length, MaxPrefixLength)];
        }
        else
        {
            int available = (int)Math.Min(buffer.Length, MaxPrefixLength);
            buffer.Slice(0, available).CopyTo(gathered);
            prefix = gathered[..available];
        }
        var status = Varint.TryRead(prefix, out ulong length, out int prefixLength, MaxPrefixLength);
        if (status == Varint.ReadStatus.NeedMoreData)
        {
            return false;
        }
        if (status == Varint.ReadStatus.Invalid || length == 0)
        {
            throw new PeerException(PeerError.ProtocolViolation, "Malformed channel frame length.");
        }
        if (length - 1 > (ulong)maxBodyLength)
        {
            throw new PeerException(PeerError.LimitExceeded, $"Channel message of {length - 1} bytes exceeds the limit of {maxBodyLength} bytes.");
        }
        if (buffer.Length < prefixLength + (long)length)
        {
            return false;
        }
        long end = prefixLength + (long)length;
        type = (ChannelFrameType)(first.Length > prefixLength ? first[prefixLength] : buffer.Slice(prefixLength, 1).FirstSpan[0]);
        if (type > ChannelFrameType.Stop)
        {
            throw new PeerException(PeerError.ProtocolViolation, $"Unknown channel frame type {(byte)type}.");
        }
        body = buffer.Slice(prefixLength + 1, (long)length - 1);
        buffer = buffer.Slice(end);
        return true;
    }
}
