using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Pinhole.Messaging.MessagePack;

/// <summary>
/// Reads MessagePack values from a <see cref="ReadOnlySequence{T}"/> (or contiguous memory) without
/// allocating, except for the strings and arrays a caller asks for. Every declared length is checked
/// against the configured limits and the bytes actually remaining before anything is allocated; every
/// error is a <see cref="MessagePackException"/> with the byte offset of the value at fault.
/// </summary>
/// <remarks>
/// The reader accepts every encoding the spec allows for a value (e.g. 1 as fixint or as int 64), not
/// just the shortest, as the spec requires of deserializers.
/// </remarks>
public ref partial struct MessagePackReader
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private SequenceReader<byte> _reader;
    private readonly MessagePackReaderOptions _options;
    private int _depth;

    /// <summary>Creates a reader over <paramref name="data"/>.</summary>
    /// <param name="data">The input.</param>
    /// <param name="options">Limits; <see cref="MessagePackReaderOptions.Default"/> when null.</param>
    /// <param name="state">Optional context passed to codecs.</param>
    /// <exception cref="MessagePackException">The input is longer than <see cref="MessagePackReaderOptions.MaxTotalLength"/>.</exception>
    public MessagePackReader(ReadOnlySequence<byte> data, MessagePackReaderOptions? options = null, object? state = null)
    {
        _options = options ?? MessagePackReaderOptions.Default;
        if (data.Length > _options.MaxTotalLength)
        {
            throw new MessagePackException($"Input of {data.Length} bytes exceeds the limit of {_options.MaxTotalLength} bytes", 0) { IsLimitExceeded = true };
        }
        _reader = new SequenceReader<byte>(data);
        State = state;
    }

    /// <summary>Creates a reader over contiguous <paramref name="data"/>.</summary>
    public MessagePackReader(ReadOnlyMemory<byte> data, MessagePackReaderOptions? options = null, object? state = null)
        : this(new ReadOnlySequence<byte>(data), options, state)
    {
    }

    /// <summary>Context for codecs, given at construction.</summary>
    public readonly object? State { get; }

    /// <summary>The limits in force.</summary>
    public readonly MessagePackReaderOptions Options => _options;

    /// <summary>Bytes consumed so far.</summary>
    public readonly long Consumed => _reader.Consumed;

    /// <summary>Bytes not yet consumed.</summary>
    public readonly long Remaining => _reader.Remaining;

    /// <summary>True when all input has been consumed.</summary>
    public readonly bool End => _reader.End;

    /// <summary>The current nesting depth (see <see cref="EnterNested"/>).</summary>
    public readonly int Depth => _depth;

    /// <summary>The rest of the input, not consumed.</summary>
    public readonly ReadOnlySequence<byte> UnreadSequence => _reader.UnreadSequence;

    /// <summary>The first byte of the next value, not consumed.</summary>
    public readonly byte NextCode
    {
        get
        {
            if (!_reader.TryPeek(out byte code))
            {
                throw Truncated(1);
            }
            return code;
        }
    }

    /// <summary>The family of the next value, not consumed.</summary>
    public readonly MessagePackType NextType => MessagePackCode.TypeOf(NextCode);

    /// <summary>
    /// Records one more level of nesting; codecs call it before reading the elements of a container and
    /// <see cref="ExitNested"/> after, so that hostile deep nesting fails before the stack does.
    /// </summary>
    /// <exception cref="MessagePackException">Deeper than <see cref="MessagePackReaderOptions.MaxDepth"/>.</exception>
    public void EnterNested()
    {
        if (_depth >= _options.MaxDepth)
        {
            throw new MessagePackException($"Nesting deeper than the limit of {_options.MaxDepth}", Consumed) { IsLimitExceeded = true };
        }
        _depth++;
    }

    /// <summary>Leaves a level entered with <see cref="EnterNested"/>.</summary>
    public void ExitNested()
    {
        if (_depth > 0)
        {
            _depth--;
        }
    }

    /// <summary>Consumes a nil if the next value is one.</summary>
    public bool TryReadNil()
    {
        if (_reader.TryPeek(out byte code) && code == MessagePackCode.Nil)
        {
            _reader.Advance(1);
            return true;
        }
        return false;
    }

    /// <summary>Reads a nil.</summary>
    public void ReadNil()
    {
        long start = Consumed;
        byte code = ReadCode();
        if (code != MessagePackCode.Nil)
        {
            throw Unexpected(code, "nil", start);
        }
    }

    /// <summary>Reads true or false.</summary>
    public bool ReadBoolean()
    {
        long start = Consumed;
        byte code = ReadCode();
        return code switch
        {
            MessagePackCode.True => true,
            MessagePackCode.False => false,
            _ => throw Unexpected(code, "bool", start),
        };
    }

    /// <summary>Reads any integer format as a signed 64-bit integer.</summary>
    /// <exception cref="MessagePackException">Not an integer, or a uint 64 above <see cref="long.MaxValue"/>.</exception>
    public long ReadInt64()
    {
        long start = Consumed;
        byte code = ReadCode();
        if (code <= MessagePackCode.MaxPositiveFixInt)
        {
            return code;
        }
        if (code >= MessagePackCode.MinNegativeFixInt)
        {
            return unchecked((sbyte)code);
        }
        switch (code)
        {
            case MessagePackCode.UInt8: return ReadU8(start);
            case MessagePackCode.UInt16: return (ushort)ReadI16(start);
            case MessagePackCode.UInt32: return (uint)ReadI32(start);
            case MessagePackCode.UInt64:
                long u = ReadI64(start);
                if (u < 0)
                {
                    throw new MessagePackException($"Integer {(ulong)u} does not fit in Int64", start);
                }
                return u;
            case MessagePackCode.Int8: return unchecked((sbyte)ReadU8(start));
            case MessagePackCode.Int16: return ReadI16(start);
            case MessagePackCode.Int32: return ReadI32(start);
            case MessagePackCode.Int64: return ReadI64(start);
            default: throw Unexpected(code, "integer", start);
        }
    }

    /// <summary>Reads any non-negative integer as an unsigned 64-bit integer.</summary>
    /// <exception cref="MessagePackException">Not an integer, or negative.</exception>
    public ulong ReadUInt64()
    {
        long start = Consumed;
        if (_reader.TryPeek(out byte code) && code == MessagePackCode.UInt64)
        {
            _reader.Advance(1);
            return unchecked((ulong)ReadI64(start));
        }
        long value = ReadInt64();
        if (value < 0)
        {
            throw new MessagePackException($"Integer {value} is negative where an unsigned one was expected", start);
        }
        return (ulong)value;
    }

    /// <summary>Reads an integer that must fit in <see cref="int"/>.</summary>
    public int ReadInt32()
    {
        long start = Consumed;
        long value = ReadInt64();
        if (value is < int.MinValue or > int.MaxValue)
        {
            throw new MessagePackException($"Integer {value} does not fit in Int32", start);
        }
        return (int)value;
    }

    /// <summary>Reads an integer that must fit in <see cref="uint"/>.</summary>
    public uint ReadUInt32()
    {
        long start = Consumed;
        ulong value = ReadUInt64();
        if (value > uint.MaxValue)
        {
            throw new MessagePackException($"Integer {value} does not fit in UInt32", start);
        }
        return (uint)value;
    }

    /// <summary>Reads a float 64, a float 32 (widened) or an integer (converted) as a double.</summary>
    public double ReadDouble()
    {
        long start = Consumed;
        byte code = NextCode;
        switch (code)
        {
            case MessagePackCode.Float64:
                _reader.Advance(1);
                return BitConverter.Int64BitsToDouble(ReadI64(start));
            case MessagePackCode.Float32:
                _reader.Advance(1);
                return BitConverter.Int32BitsToSingle(ReadI32(start));
            case MessagePackCode.UInt64:
                return ReadUInt64();
            default:
                if (MessagePackCode.TypeOf(code) != MessagePackType.Integer)
                {
                    _reader.Advance(1);
                    throw Unexpected(code, "float", start);
                }
                return ReadInt64();
        }
    }

    /// <summary>Reads a float 32, or a float 64 / integer narrowed to single precision.</summary>
    public float ReadSingle()
    {
        long start = Consumed;
        if (_reader.TryPeek(out byte code) && code == MessagePackCode.Float32)
        {
            _reader.Advance(1);
            return BitConverter.Int32BitsToSingle(ReadI32(start));
        }
        return (float)ReadDouble();
    }

    /// <summary>Reads the header of a str value and returns its length in bytes; the bytes follow.</summary>
    public int ReadStringHeader()
    {
        long start = Consumed;
        byte code = ReadCode();
        long length;
        if (code is >= MessagePackCode.MinFixStr and <= MessagePackCode.MaxFixStr)
        {
            length = code & 0x1f;
        }
        else
        {
            length = code switch
            {
                MessagePackCode.Str8 => ReadU8(start),
                MessagePackCode.Str16 => (ushort)ReadI16(start),
                MessagePackCode.Str32 => (uint)ReadI32(start),
                _ => throw Unexpected(code, "str", start),
            };
        }
        return CheckLength(length, _options.MaxStringLength, "str", start);
    }

    /// <summary>Reads a str value, or nil as null.</summary>
    /// <exception cref="MessagePackException">Another type, truncated input, or invalid UTF-8.</exception>
    public string? ReadString()
    {
        if (TryReadNil())
        {
            return null;
        }
        long start = Consumed;
        int length = ReadStringHeader();
        try
        {
            string result;
            var span = _reader.UnreadSpan;
            if (span.Length >= length)
            {
                result = StrictUtf8.GetString(span[..length]);
            }
            else
            {
                result = StrictUtf8.GetString(_reader.UnreadSequence.Slice(0, length));
            }
            _reader.Advance(length);
            return result;
        }
        catch (DecoderFallbackException e)
        {
            throw new MessagePackException("str value is not valid UTF-8", start, e);
        }
    }

    /// <summary>Reads the UTF-8 bytes of a str value without decoding or copying them.</summary>
    public ReadOnlySequence<byte> ReadStringSequence()
    {
        int length = ReadStringHeader();
        return TakeSequence(length);
    }

    /// <summary>Reads the header of a bin value and returns its length; the bytes follow.</summary>
    public int ReadBinaryHeader()
    {
        long start = Consumed;
        byte code = ReadCode();
        long length = code switch
        {
            MessagePackCode.Bin8 => ReadU8(start),
            MessagePackCode.Bin16 => (ushort)ReadI16(start),
            MessagePackCode.Bin32 => (uint)ReadI32(start),
            _ => throw Unexpected(code, "bin", start),
        };
        return CheckLength(length, _options.MaxBinaryLength, "bin", start);
    }

    /// <summary>Reads a bin value as a slice of the input (no copy).</summary>
    public ReadOnlySequence<byte> ReadBytes()
    {
        int length = ReadBinaryHeader();
        return TakeSequence(length);
    }

    /// <summary>Reads a bin value into a new array, or nil as null.</summary>
    public byte[]? ReadByteArray()
    {
        if (TryReadNil())
        {
            return null;
        }
        return ReadBytes().ToArray();
    }

    /// <summary>Reads the header of an array and returns its element count; the elements follow.</summary>
    public int ReadArrayHeader()
    {
        long start = Consumed;
        byte code = ReadCode();
        long count;
        if (code is >= MessagePackCode.MinFixArray and <= MessagePackCode.MaxFixArray)
        {
            count = code & 0x0f;
        }
        else
        {
            count = code switch
            {
                MessagePackCode.Array16 => (ushort)ReadI16(start),
                MessagePackCode.Array32 => (uint)ReadI32(start),
                _ => throw Unexpected(code, "array", start),
            };
        }
        return CheckCount(count, 1, "array", start);
    }

    /// <summary>Reads the header of a map and returns its entry count; key, value pairs follow.</summary>
    public int ReadMapHeader()
    {
        long start = Consumed;
        byte code = ReadCode();
        long count;
        if (code is >= MessagePackCode.MinFixMap and <= MessagePackCode.MaxFixMap)
        {
            count = code & 0x0f;
        }
        else
        {
            count = code switch
            {
                MessagePackCode.Map16 => (ushort)ReadI16(start),
                MessagePackCode.Map32 => (uint)ReadI32(start),
                _ => throw Unexpected(code, "map", start),
            };
        }
        return CheckCount(count, 2, "map", start);
    }

    /// <summary>Reads the header of an extension value; its payload of <see cref="ExtensionHeader.Length"/> bytes follows.</summary>
    public ExtensionHeader ReadExtensionHeader()
    {
        long start = Consumed;
        byte code = ReadCode();
        long length = code switch
        {
            MessagePackCode.FixExt1 => 1,
            MessagePackCode.FixExt2 => 2,
            MessagePackCode.FixExt4 => 4,
            MessagePackCode.FixExt8 => 8,
            MessagePackCode.FixExt16 => 16,
            MessagePackCode.Ext8 => ReadU8(start),
            MessagePackCode.Ext16 => (ushort)ReadI16(start),
            MessagePackCode.Ext32 => (uint)ReadI32(start),
            _ => throw Unexpected(code, "ext", start),
        };
        sbyte type = unchecked((sbyte)ReadU8(start));
        return new ExtensionHeader(type, CheckLength(length, _options.MaxBinaryLength, "ext", start));
    }

    /// <summary>Reads a whole extension value; the payload is a slice of the input (no copy).</summary>
    public ReadOnlySequence<byte> ReadExtension(out sbyte type)
    {
        var header = ReadExtensionHeader();
        type = header.Type;
        return TakeSequence(header.Length);
    }

    /// <summary>Reads a timestamp (extension -1) in any of its three forms.</summary>
    public MessagePackTimestamp ReadTimestamp()
    {
        long start = Consumed;
        var header = ReadExtensionHeader();
        if (header.Type != MessagePackTimestamp.ExtensionType)
        {
            throw new MessagePackException($"Expected a timestamp (ext -1) but found ext {header.Type}", start);
        }
        Span<byte> buffer = stackalloc byte[12];
        switch (header.Length)
        {
            case 4:
                Copy(buffer[..4], start);
                return new MessagePackTimestamp(BinaryPrimitives.ReadUInt32BigEndian(buffer), 0);
            case 8:
                Copy(buffer[..8], start);
                ulong packed = BinaryPrimitives.ReadUInt64BigEndian(buffer);
                return MakeTimestamp((long)(packed & 0x3_ffff_ffffUL), (uint)(packed >> 34), start);
            case 12:
                Copy(buffer, start);
                return MakeTimestamp(BinaryPrimitives.ReadInt64BigEndian(buffer[4..]), BinaryPrimitives.ReadUInt32BigEndian(buffer), start);
            default:
                throw new MessagePackException($"A timestamp has 4, 8 or 12 bytes, not {header.Length}", start);
        }
    }

    /// <summary>Reads a timestamp as a <see cref="DateTimeOffset"/> (UTC, truncated to 100 ns).</summary>
    public DateTimeOffset ReadDateTimeOffset()
    {
        long start = Consumed;
        var ts = ReadTimestamp();
        try
        {
            return ts.ToDateTimeOffset();
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new MessagePackException($"Timestamp {ts} is outside the range of DateTimeOffset", start, e);
        }
    }

    /// <summary>Reads exactly one value of any type (with everything nested in it) as raw bytes, without decoding it.</summary>
    public ReadOnlySequence<byte> ReadRaw()
    {
        var startPosition = _reader.Position;
        long startConsumed = Consumed;
        Skip();
        return _reader.Sequence.Slice(startPosition, Consumed - startConsumed);
    }

    /// <summary>Copies <paramref name="destination"/>.Length raw bytes from the input (the body of a str, bin or ext).</summary>
    public void ReadRaw(scoped Span<byte> destination) => Copy(destination, Consumed);

    private static MessagePackTimestamp MakeTimestamp(long seconds, uint nanoseconds, long start)
    {
        if (nanoseconds > 999_999_999)
        {
            throw new MessagePackException($"Timestamp nanoseconds {nanoseconds} exceed 999999999", start);
        }
        return new MessagePackTimestamp(seconds, nanoseconds);
    }
}
