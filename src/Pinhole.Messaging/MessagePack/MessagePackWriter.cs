using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Pinhole.Messaging.MessagePack;

/// <summary>
/// Writes MessagePack values into an <see cref="IBufferWriter{T}"/>, always in the shortest form the spec
/// allows (so the output of equal values is byte-identical). Allocation-free: each value asks the
/// buffer writer for a span, fills it, and advances.
/// </summary>
/// <remarks>
/// A <c>ref struct</c> so codecs take it by <c>ref</c>; <see cref="State"/> carries context to codecs
/// (the channel layer uses it to open streams for nested channels).
/// </remarks>
public ref struct MessagePackWriter
{
    private readonly IBufferWriter<byte> _output;

    /// <summary>Creates a writer that appends to <paramref name="output"/>.</summary>
    /// <param name="output">Where the bytes go.</param>
    /// <param name="state">Optional context passed to codecs.</param>
    public MessagePackWriter(IBufferWriter<byte> output, object? state = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        _output = output;
        State = state;
    }

    /// <summary>Context for codecs, given at construction.</summary>
    public readonly object? State { get; }

    /// <summary>The buffer writer this writer appends to.</summary>
    public readonly IBufferWriter<byte> Output => _output;

    /// <summary>Writes nil (0xc0).</summary>
    public readonly void WriteNil() => WriteByte(MessagePackCode.Nil);

    /// <summary>Writes true (0xc3) or false (0xc2).</summary>
    public readonly void Write(bool value) => WriteByte(value ? MessagePackCode.True : MessagePackCode.False);

    /// <summary>Writes a signed integer in its shortest form.</summary>
    public readonly void Write(long value)
    {
        if (value >= 0)
        {
            Write((ulong)value);
            return;
        }
        Span<byte> span;
        if (value >= -32)
        {
            WriteByte(unchecked((byte)value)); // negative fixint 111xxxxx
        }
        else if (value >= sbyte.MinValue)
        {
            span = _output.GetSpan(2);
            span[0] = MessagePackCode.Int8;
            span[1] = unchecked((byte)value);
            _output.Advance(2);
        }
        else if (value >= short.MinValue)
        {
            span = _output.GetSpan(3);
            span[0] = MessagePackCode.Int16;
            BinaryPrimitives.WriteInt16BigEndian(span[1..], (short)value);
            _output.Advance(3);
        }
        else if (value >= int.MinValue)
        {
            span = _output.GetSpan(5);
            span[0] = MessagePackCode.Int32;
            BinaryPrimitives.WriteInt32BigEndian(span[1..], (int)value);
            _output.Advance(5);
        }
        else
        {
            span = _output.GetSpan(9);
            span[0] = MessagePackCode.Int64;
            BinaryPrimitives.WriteInt64BigEndian(span[1..], value);
            _output.Advance(9);
        }
    }

    /// <summary>Writes an unsigned integer in its shortest form.</summary>
    public readonly void Write(ulong value)
    {
        Span<byte> span;
        if (value <= MessagePackCode.MaxPositiveFixInt)
        {
            WriteByte((byte)value);
        }
        else if (value <= byte.MaxValue)
        {
            span = _output.GetSpan(2);
            span[0] = MessagePackCode.UInt8;
            span[1] = (byte)value;
            _output.Advance(2);
        }
        else if (value <= ushort.MaxValue)
        {
            span = _output.GetSpan(3);
            span[0] = MessagePackCode.UInt16;
            BinaryPrimitives.WriteUInt16BigEndian(span[1..], (ushort)value);
            _output.Advance(3);
        }
        else if (value <= uint.MaxValue)
        {
            span = _output.GetSpan(5);
            span[0] = MessagePackCode.UInt32;
            BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)value);
            _output.Advance(5);
        }
        else
        {
            span = _output.GetSpan(9);
            span[0] = MessagePackCode.UInt64;
            BinaryPrimitives.WriteUInt64BigEndian(span[1..], value);
            _output.Advance(9);
        }
    }

    /// <summary>Writes a signed integer in its shortest form.</summary>
    public readonly void Write(int value) => Write((long)value);

    /// <summary>Writes an unsigned integer in its shortest form.</summary>
    public readonly void Write(uint value) => Write((ulong)value);

    /// <summary>Writes a float 32 (0xca).</summary>
    public readonly void Write(float value)
    {
        var span = _output.GetSpan(5);
        span[0] = MessagePackCode.Float32;
        BinaryPrimitives.WriteSingleBigEndian(span[1..], value);
        _output.Advance(5);
    }

    /// <summary>Writes a float 64 (0xcb).</summary>
    public readonly void Write(double value)
    {
        var span = _output.GetSpan(9);
        span[0] = MessagePackCode.Float64;
        BinaryPrimitives.WriteDoubleBigEndian(span[1..], value);
        _output.Advance(9);
    }

    /// <summary>Writes a string as UTF-8 str, or nil when <paramref name="value"/> is null.</summary>
    public readonly void Write(string? value)
    {
        if (value is null)
        {
            WriteNil();
            return;
        }
        WriteString(value.AsSpan());
    }

    /// <summary>Writes text as a UTF-8 str value (unpaired surrogates become U+FFFD).</summary>
    public readonly void WriteString(ReadOnlySpan<char> value)
    {
        int byteCount = Encoding.UTF8.GetByteCount(value);
        WriteStringHeader(byteCount);
        if (byteCount == 0)
        {
            return;
        }
        var span = _output.GetSpan(byteCount);
        int written = Encoding.UTF8.GetBytes(value, span);
        _output.Advance(written);
    }

    /// <summary>Writes already-encoded UTF-8 bytes as a str value.</summary>
    public readonly void WriteString(ReadOnlySpan<byte> utf8)
    {
        WriteStringHeader(utf8.Length);
        WriteRaw(utf8);
    }

    /// <summary>Writes the header of a str value whose <paramref name="byteLength"/> UTF-8 bytes follow (via <see cref="WriteRaw"/>).</summary>
    public readonly void WriteStringHeader(int byteLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(byteLength);
        Span<byte> span;
        if (byteLength <= 31)
        {
            WriteByte((byte)(MessagePackCode.MinFixStr | byteLength));
        }
        else if (byteLength <= byte.MaxValue)
        {
            span = _output.GetSpan(2);
            span[0] = MessagePackCode.Str8;
            span[1] = (byte)byteLength;
            _output.Advance(2);
        }
        else
        {
            WriteLength(MessagePackCode.Str16, MessagePackCode.Str32, byteLength);
        }
    }

    /// <summary>Writes bytes as a bin value.</summary>
    public readonly void Write(ReadOnlySpan<byte> value)
    {
        WriteBinaryHeader(value.Length);
        WriteRaw(value);
    }

    /// <summary>Writes bytes as a bin value.</summary>
    public readonly void Write(ReadOnlySequence<byte> value)
    {
        if (value.Length > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(value), "A bin value holds at most 2^31-1 bytes.");
        }
        WriteBinaryHeader((int)value.Length);
        foreach (var segment in value)
        {
            WriteRaw(segment.Span);
        }
    }

    /// <summary>Writes the header of a bin value whose <paramref name="length"/> bytes follow (via <see cref="WriteRaw"/>).</summary>
    public readonly void WriteBinaryHeader(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (length <= byte.MaxValue)
        {
            var span = _output.GetSpan(2);
            span[0] = MessagePackCode.Bin8;
            span[1] = (byte)length;
            _output.Advance(2);
        }
        else
        {
            WriteLength(MessagePackCode.Bin16, MessagePackCode.Bin32, length);
        }
    }

    /// <summary>Writes the header of an array of <paramref name="count"/> values; the values follow.</summary>
    public readonly void WriteArrayHeader(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (count <= 15)
        {
            WriteByte((byte)(MessagePackCode.MinFixArray | count));
        }
        else
        {
            WriteLength(MessagePackCode.Array16, MessagePackCode.Array32, count);
        }
    }

    /// <summary>Writes the header of a map of <paramref name="count"/> entries; key, value, key, value... follow.</summary>
    public readonly void WriteMapHeader(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (count <= 15)
        {
            WriteByte((byte)(MessagePackCode.MinFixMap | count));
        }
        else
        {
            WriteLength(MessagePackCode.Map16, MessagePackCode.Map32, count);
        }
    }

    /// <summary>Writes the header of an extension value (fixext when the length allows); the payload follows.</summary>
    public readonly void WriteExtensionHeader(sbyte type, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Span<byte> span;
        byte fix = length switch
        {
            1 => MessagePackCode.FixExt1,
            2 => MessagePackCode.FixExt2,
            4 => MessagePackCode.FixExt4,
            8 => MessagePackCode.FixExt8,
            16 => MessagePackCode.FixExt16,
            _ => 0,
        };
        if (fix != 0)
        {
            span = _output.GetSpan(2);
            span[0] = fix;
            span[1] = unchecked((byte)type);
            _output.Advance(2);
        }
        else if (length <= byte.MaxValue)
        {
            span = _output.GetSpan(3);
            span[0] = MessagePackCode.Ext8;
            span[1] = (byte)length;
            span[2] = unchecked((byte)type);
            _output.Advance(3);
        }
        else if (length <= ushort.MaxValue)
        {
            span = _output.GetSpan(4);
            span[0] = MessagePackCode.Ext16;
            BinaryPrimitives.WriteUInt16BigEndian(span[1..], (ushort)length);
            span[3] = unchecked((byte)type);
            _output.Advance(4);
        }
        else
        {
            span = _output.GetSpan(6);
            span[0] = MessagePackCode.Ext32;
            BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)length);
            span[5] = unchecked((byte)type);
            _output.Advance(6);
        }
    }

    /// <summary>Writes a whole extension value.</summary>
    public readonly void WriteExtension(sbyte type, ReadOnlySpan<byte> data)
    {
        WriteExtensionHeader(type, data.Length);
        WriteRaw(data);
    }

    /// <summary>Writes a timestamp (extension -1) in the shortest of its three forms.</summary>
    /// <remarks>
    /// <code>
    /// timestamp 32: d6 ff | seconds u32                          (nanoseconds 0, 0 &lt;= seconds &lt; 2^32)
    /// timestamp 64: d7 ff | nanoseconds:30 bits, seconds:34 bits   (0 &lt;= seconds &lt; 2^34)
    /// timestamp 96: c7 0c ff | nanoseconds u32 | seconds i64      (everything else)
    /// </code>
    /// </remarks>
    public readonly void Write(MessagePackTimestamp value)
    {
        Span<byte> span;
        if ((ulong)value.Seconds >> 34 == 0)
        {
            ulong packed = ((ulong)value.Nanoseconds << 34) | (ulong)value.Seconds;
            if ((packed & 0xffffffff00000000UL) == 0)
            {
                span = _output.GetSpan(6);
                span[0] = MessagePackCode.FixExt4;
                span[1] = 0xff;
                BinaryPrimitives.WriteUInt32BigEndian(span[2..], (uint)packed);
                _output.Advance(6);
            }
            else
            {
                span = _output.GetSpan(10);
                span[0] = MessagePackCode.FixExt8;
                span[1] = 0xff;
                BinaryPrimitives.WriteUInt64BigEndian(span[2..], packed);
                _output.Advance(10);
            }
        }
        else
        {
            span = _output.GetSpan(15);
            span[0] = MessagePackCode.Ext8;
            span[1] = 12;
            span[2] = 0xff;
            BinaryPrimitives.WriteUInt32BigEndian(span[3..], value.Nanoseconds);
            BinaryPrimitives.WriteInt64BigEndian(span[7..], value.Seconds);
            _output.Advance(15);
        }
    }

    /// <summary>Writes a point in time as a timestamp (extension -1).</summary>
    public readonly void Write(DateTimeOffset value) => Write(MessagePackTimestamp.FromDateTimeOffset(value));

    /// <summary>Copies bytes as they are: the body of a str/bin/ext after its header, or a pre-encoded value.</summary>
    public readonly void WriteRaw(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            return;
        }
        var span = _output.GetSpan(bytes.Length);
        bytes.CopyTo(span);
        _output.Advance(bytes.Length);
    }

    private readonly void WriteByte(byte value)
    {
        var span = _output.GetSpan(1);
        span[0] = value;
        _output.Advance(1);
    }

    private readonly void WriteLength(byte code16, byte code32, int length)
    {
        Span<byte> span;
        if (length <= ushort.MaxValue)
        {
            span = _output.GetSpan(3);
            span[0] = code16;
            BinaryPrimitives.WriteUInt16BigEndian(span[1..], (ushort)length);
            _output.Advance(3);
        }
        else
        {
            span = _output.GetSpan(5);
            span[0] = code32;
            BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)length);
            _output.Advance(5);
        }
    }
}
