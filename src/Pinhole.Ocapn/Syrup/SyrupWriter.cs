using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;

namespace Pinhole.Ocapn.Syrup;

/// <summary>
/// Writes the canonical Syrup encoding of a value. Dictionaries and sets already hold their entries in
/// canonical order, so writing is a single pass.
/// </summary>
public static class SyrupWriter
{
    /// <summary>Encodes <paramref name="value"/> to a new array.</summary>
    public static byte[] Encode(SyrupValue value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var buffer = new ArrayBufferWriter<byte>(64);
        Write(buffer, value);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Appends the encoding of <paramref name="value"/> to <paramref name="output"/>.</summary>
    public static void Write(IBufferWriter<byte> output, SyrupValue value)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(value);
        switch (value)
        {
            case SyrupBoolean b:
                WriteByte(output, b.Value ? (byte)'t' : (byte)'f');
                break;
            case SyrupFloat f:
            {
                var span = output.GetSpan(5);
                span[0] = (byte)'F';
                BinaryPrimitives.WriteSingleBigEndian(span[1..], f.Value);
                output.Advance(5);
                break;
            }
            case SyrupDouble d:
            {
                var span = output.GetSpan(9);
                span[0] = (byte)'D';
                BinaryPrimitives.WriteDoubleBigEndian(span[1..], d.Value);
                output.Advance(9);
                break;
            }
            case SyrupInteger i:
                WriteInteger(output, i.Value);
                break;
            case SyrupBytes bytes:
                WritePrefixed(output, bytes.Span, (byte)':');
                break;
            case SyrupString s:
                WriteText(output, s.Value, (byte)'"');
                break;
            case SyrupSymbol sym:
                WriteText(output, sym.Name, (byte)'\'');
                break;
            case SyrupList list:
                WriteByte(output, (byte)'[');
                foreach (var item in list.Items)
                {
                    Write(output, item);
                }
                WriteByte(output, (byte)']');
                break;
            case SyrupDictionary dict:
                WriteByte(output, (byte)'{');
                foreach (var (key, val) in dict.Entries)
                {
                    Write(output, key);
                    Write(output, val);
                }
                WriteByte(output, (byte)'}');
                break;
            case SyrupSet set:
                WriteByte(output, (byte)'#');
                foreach (var item in set.Items)
                {
                    Write(output, item);
                }
                WriteByte(output, (byte)'$');
                break;
            case SyrupRecord record:
                WriteByte(output, (byte)'<');
                Write(output, record.Label);
                foreach (var field in record.Fields)
                {
                    Write(output, field);
                }
                WriteByte(output, (byte)'>');
                break;
            default:
                throw new ArgumentException($"Unknown Syrup value type {value.GetType()}.", nameof(value));
        }
    }

    private static void WriteByte(IBufferWriter<byte> output, byte b)
    {
        output.GetSpan(1)[0] = b;
        output.Advance(1);
    }

    private static void WriteInteger(IBufferWriter<byte> output, BigInteger value)
    {
        var span = output.GetSpan(21);
        if (value >= long.MinValue + 1 && value <= long.MaxValue)
        {
            // Common case without allocating: |value| fits in a long.
            var magnitude = (long)BigInteger.Abs(value);
            magnitude.TryFormat(span, out var n, default, CultureInfo.InvariantCulture);
            span[n] = value.Sign < 0 ? (byte)'-' : (byte)'+';
            output.Advance(n + 1);
            return;
        }
        var digits = BigInteger.Abs(value).ToString(CultureInfo.InvariantCulture);
        span = output.GetSpan(digits.Length + 1);
        for (var k = 0; k < digits.Length; k++)
        {
            span[k] = (byte)digits[k];
        }
        span[digits.Length] = value.Sign < 0 ? (byte)'-' : (byte)'+';
        output.Advance(digits.Length + 1);
    }

    private static void WriteLength(IBufferWriter<byte> output, int length, byte marker)
    {
        var span = output.GetSpan(11);
        length.TryFormat(span, out var written, default, CultureInfo.InvariantCulture);
        span[written] = marker;
        output.Advance(written + 1);
    }

    private static void WritePrefixed(IBufferWriter<byte> output, ReadOnlySpan<byte> payload, byte marker)
    {
        WriteLength(output, payload.Length, marker);
        payload.CopyTo(output.GetSpan(payload.Length));
        output.Advance(payload.Length);
    }

    private static void WriteText(IBufferWriter<byte> output, string text, byte marker)
    {
        var length = SyrupText.StrictUtf8.GetByteCount(text);
        WriteLength(output, length, marker);
        var written = SyrupText.StrictUtf8.GetBytes(text, output.GetSpan(length));
        output.Advance(written);
    }
}
