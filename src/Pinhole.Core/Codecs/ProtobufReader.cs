namespace Pinhole.Codecs;

/// <summary>Protobuf wire types (the low 3 bits of a field key).</summary>
public enum ProtobufWireType
{
    /// <summary>Varint (int32, int64, uint, bool, enum).</summary>
    Varint = 0,
    /// <summary>Fixed 64 bits.</summary>
    Fixed64 = 1,
    /// <summary>Length-delimited (bytes, string, embedded message, packed repeated).</summary>
    LengthDelimited = 2,
    /// <summary>Fixed 32 bits.</summary>
    Fixed32 = 5,
}

/// <summary>
/// A minimal protobuf reader for the few libp2p messages Pinhole parses (PublicKey, Identify, ...).
/// Reads one field at a time from a span; every length is checked against the remaining input before
/// it is used, so a hostile message can neither overrun nor make us allocate.
/// </summary>
/// <remarks>
/// <code>
/// field  = key value
/// key    = varint( field_number &lt;&lt; 3 | wire_type )
/// value  = varint | 8 bytes | varint(length) bytes | 4 bytes
/// </code>
/// </remarks>
public ref struct ProtobufReader
{
    private readonly ReadOnlySpan<byte> _data;
    private int _position;

    /// <summary>Reads fields from <paramref name="data"/>.</summary>
    public ProtobufReader(ReadOnlySpan<byte> data)
    {
        _data = data;
        _position = 0;
    }

    /// <summary>The current field number, valid after <see cref="TryReadField"/> returned true.</summary>
    public int FieldNumber { get; private set; }

    /// <summary>The current field's wire type.</summary>
    public ProtobufWireType WireType { get; private set; }

    /// <summary>Moves to the next field; false at the end of the message.</summary>
    public bool TryReadField()
    {
        if (_position >= _data.Length)
        {
            return false;
        }
        var key = ReadRawVarint();
        var wireType = (int)(key & 7);
        var number = key >> 3;
        if (number is 0 or > 536_870_911)
        {
            throw new FormatException($"Protobuf field number {number} is out of range.");
        }
        if (wireType is not (0 or 1 or 2 or 5))
        {
            throw new FormatException($"Protobuf wire type {wireType} (field {number}) is not supported.");
        }
        FieldNumber = (int)number;
        WireType = (ProtobufWireType)wireType;
        return true;
    }

    /// <summary>Reads the current field as a varint.</summary>
    public ulong ReadVarint()
    {
        Expect(ProtobufWireType.Varint);
        return ReadRawVarint();
    }

    /// <summary>Reads the current length-delimited field; the span points into the input.</summary>
    public ReadOnlySpan<byte> ReadBytes()
    {
        Expect(ProtobufWireType.LengthDelimited);
        var length = ReadRawVarint();
        if (length > (ulong)(_data.Length - _position))
        {
            throw new FormatException($"Protobuf field {FieldNumber} declares {length} bytes but only {_data.Length - _position} remain.");
        }
        var value = _data.Slice(_position, (int)length);
        _position += (int)length;
        return value;
    }

    /// <summary>Reads the current field as a UTF-8 string (strictly decoded).</summary>
    public string ReadString()
    {
        var bytes = ReadBytes();
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (System.Text.DecoderFallbackException e)
        {
            throw new FormatException($"Protobuf field {FieldNumber} is not valid UTF-8.", e);
        }
    }

    private static readonly System.Text.UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Skips the current field's value.</summary>
    public void Skip()
    {
        switch (WireType)
        {
            case ProtobufWireType.Varint:
                ReadRawVarint();
                break;
            case ProtobufWireType.Fixed64:
                Advance(8);
                break;
            case ProtobufWireType.Fixed32:
                Advance(4);
                break;
            default:
                ReadBytes();
                break;
        }
    }

    private void Advance(int count)
    {
        if (_data.Length - _position < count)
        {
            throw new FormatException($"Protobuf field {FieldNumber} is truncated.");
        }
        _position += count;
    }

    private void Expect(ProtobufWireType type)
    {
        if (WireType != type)
        {
            throw new FormatException($"Protobuf field {FieldNumber} has wire type {WireType}, expected {type}.");
        }
    }

    private ulong ReadRawVarint()
    {
        var value = Varint.Read(_data[_position..], out var read, Varint.MaxLength);
        _position += read;
        return value;
    }
}
