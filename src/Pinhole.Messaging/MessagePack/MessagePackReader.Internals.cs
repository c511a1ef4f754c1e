using System.Buffers;

namespace Pinhole.Messaging.MessagePack;

public ref partial struct MessagePackReader
{
    /// <summary>
    /// Skips one value and everything nested in it. Iterative (a count of values still to skip), so
    /// hostile nesting costs neither stack nor memory; every length is checked against the input.
    /// </summary>
    public void Skip() => Skip(validateStrings: false);

    /// <summary>
    /// Like <see cref="ReadRaw()"/>, and every str inside must also be valid UTF-8: for decoders (Nerdbank.MessagePack)
    /// that would otherwise replace bad bytes instead of refusing them, as this reader does.
    /// </summary>
    internal ReadOnlySequence<byte> ReadRawValidated()
    {
        var startPosition = _reader.Position;
        long startConsumed = Consumed;
        Skip(validateStrings: true);
        return _reader.Sequence.Slice(startPosition, Consumed - startConsumed);
    }

    private void Skip(bool validateStrings)
    {
        long pending = 1;
        while (pending > 0)
        {
            pending--;
            long start = Consumed;
            byte code = NextCode;
            switch (MessagePackCode.TypeOf(code))
            {
                case MessagePackType.Nil:
                case MessagePackType.Boolean:
                    _reader.Advance(1);
                    break;
                case MessagePackType.Integer:
                    _ = code == MessagePackCode.UInt64 ? (long)ReadUInt64() : ReadInt64();
                    break;
                case MessagePackType.Float:
                    _ = ReadDouble();
                    break;
                case MessagePackType.String:
                    if (validateStrings)
                    {
                        ValidateUtf8(ReadStringSequence(), start);
                    }
                    else
                    {
                        Advance(ReadStringHeader());
                    }
                    break;
                case MessagePackType.Binary:
                    Advance(ReadBinaryHeader());
                    break;
                case MessagePackType.Extension:
                    Advance(ReadExtensionHeader().Length);
                    break;
                case MessagePackType.Array:
                    pending += ReadArrayHeader();
                    break;
                case MessagePackType.Map:
                    pending += 2L * ReadMapHeader();
                    break;
                default:
                    throw new MessagePackException("Byte 0xc1 is never used in MessagePack", start);
            }
        }
    }

    private static void ValidateUtf8(ReadOnlySequence<byte> bytes, long start)
    {
        bool valid;
        if (bytes.IsSingleSegment)
        {
            valid = System.Text.Unicode.Utf8.IsValid(bytes.FirstSpan);
        }
        else
        {
            var copy = ArrayPool<byte>.Shared.Rent((int)bytes.Length);
            bytes.CopyTo(copy);
            valid = System.Text.Unicode.Utf8.IsValid(copy.AsSpan(0, (int)bytes.Length));
            ArrayPool<byte>.Shared.Return(copy);
        }
        if (!valid)
        {
            throw new MessagePackException("str value is not valid UTF-8", start);
        }
    }

    private byte ReadCode()
    {
        if (!_reader.TryRead(out byte code))
        {
            throw Truncated(1);
        }
        if (code == MessagePackCode.NeverUsed)
        {
            throw new MessagePackException("Byte 0xc1 is never used in MessagePack", Consumed - 1);
        }
        return code;
    }

    private byte ReadU8(long start)
    {
        if (!_reader.TryRead(out byte value))
        {
            throw Truncated(1, start);
        }
        return value;
    }

    private short ReadI16(long start)
    {
        if (!_reader.TryReadBigEndian(out short value))
        {
            throw Truncated(2, start);
        }
        return value;
    }

    private int ReadI32(long start)
    {
        if (!_reader.TryReadBigEndian(out int value))
        {
            throw Truncated(4, start);
        }
        return value;
    }

    private long ReadI64(long start)
    {
        if (!_reader.TryReadBigEndian(out long value))
        {
            throw Truncated(8, start);
        }
        return value;
    }

    private void Copy(scoped Span<byte> destination, long start)
    {
        if (!_reader.TryCopyTo(destination))
        {
            throw Truncated(destination.Length, start);
        }
        _reader.Advance(destination.Length);
    }

    private void Advance(int count)
    {
        // Lengths were checked against Remaining when their header was read.
        _reader.Advance(count);
    }

    private ReadOnlySequence<byte> TakeSequence(int length)
    {
        var slice = _reader.UnreadSequence.Slice(0, length);
        _reader.Advance(length);
        return slice;
    }

    private readonly int CheckLength(long length, int limit, string what, long start)
    {
        if (length > Remaining)
        {
            throw new MessagePackException($"{what} declares {length} bytes but only {Remaining} remain", start) { IsTruncated = true };
        }
        if (length > limit)
        {
            throw new MessagePackException($"{what} length {length} exceeds the limit of {limit}", start) { IsLimitExceeded = true };
        }
        return (int)length;
    }

    private readonly int CheckCount(long count, int minBytesPerItem, string what, long start)
    {
        // Every element takes at least one byte, so a count above what remains is a lie: fail now
        // rather than let a caller allocate for it.
        if (count * minBytesPerItem > Remaining)
        {
            throw new MessagePackException($"{what} declares {count} items but only {Remaining} bytes remain", start) { IsTruncated = true };
        }
        if (count > _options.MaxCollectionLength)
        {
            throw new MessagePackException($"{what} of {count} items exceeds the limit of {_options.MaxCollectionLength}", start) { IsLimitExceeded = true };
        }
        return (int)count;
    }

    private readonly MessagePackException Truncated(int needed, long? start = null) =>
        new($"Input ends inside a value: {needed} more byte(s) needed", start ?? Consumed) { IsTruncated = true };

    private static MessagePackException Unexpected(byte code, string expected, long start) =>
        new($"Expected {expected} but found {Describe(code)} (0x{code:x2})", start);

    private static string Describe(byte code) => MessagePackCode.TypeOf(code) switch
    {
        MessagePackType.Unknown => "the never-used byte",
        var t => t.ToString().ToLowerInvariant(),
    };
}
