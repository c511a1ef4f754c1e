using System.Buffers;
using System.Text;

namespace Pinhole.Codecs;

/// <summary>A minimal protobuf writer (proto3 style: callers skip default values themselves).</summary>
public sealed class ProtobufWriter
{
    private readonly ArrayBufferWriter<byte> _buffer;

    /// <summary>Creates a writer with an initial capacity.</summary>
    public ProtobufWriter(int initialCapacity = 256)
    {
        _buffer = new ArrayBufferWriter<byte>(initialCapacity);
    }

    /// <summary>The bytes written so far.</summary>
    public ReadOnlySpan<byte> WrittenSpan => _buffer.WrittenSpan;

    /// <summary>Copies the message out.</summary>
    public byte[] ToArray() => _buffer.WrittenSpan.ToArray();

    /// <summary>Writes a varint field.</summary>
    public void WriteVarint(int fieldNumber, ulong value)
    {
        WriteKey(fieldNumber, ProtobufWireType.Varint);
        WriteRawVarint(value);
    }

    /// <summary>Writes a length-delimited bytes field.</summary>
    public void WriteBytes(int fieldNumber, ReadOnlySpan<byte> value)
    {
        WriteKey(fieldNumber, ProtobufWireType.LengthDelimited);
        WriteRawVarint((ulong)value.Length);
        _buffer.Write(value);
    }

    /// <summary>Writes a UTF-8 string field.</summary>
    public void WriteString(int fieldNumber, string value)
    {
        WriteKey(fieldNumber, ProtobufWireType.LengthDelimited);
        var length = Encoding.UTF8.GetByteCount(value);
        WriteRawVarint((ulong)length);
        var span = _buffer.GetSpan(length);
        Encoding.UTF8.GetBytes(value, span);
        _buffer.Advance(length);
    }

    private void WriteKey(int fieldNumber, ProtobufWireType type) => WriteRawVarint(((ulong)fieldNumber << 3) | (ulong)type);

    private void WriteRawVarint(ulong value)
    {
        var span = _buffer.GetSpan(Varint.MaxLength);
        _buffer.Advance(Varint.Write(span, value));
    }
}
