using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;

namespace Pinhole.Ocapn.Syrup;

/// <summary>
/// Decodes canonical Syrup (ocapn/syrup draft-specification.md). Pure functions over a buffer; streaming
/// callers use <see cref="TryRead(ReadOnlySpan{byte}, out SyrupValue?, out int, SyrupReaderOptions?)"/>, which
/// says <see cref="SyrupReadStatus.NeedMoreData"/> for a valid prefix, or <see cref="SyrupStreamReader"/>.
/// </summary>
/// <remarks>
/// <code>
/// t | f                      boolean
/// F &lt;4 octets BE&gt;           float32          D &lt;8 octets BE&gt;   float64
/// &lt;digits&gt; + | &lt;digits&gt; -    integer (no leading zeros, no "0-")
/// &lt;len&gt; : octets            byte string      &lt;len&gt; " utf-8   string      &lt;len&gt; ' utf-8   symbol
/// [ values ]                 list             &lt; label values &gt;   record
/// { (key value)* }           dictionary       # values $         set
/// </code>
/// The reader is strict: dictionary keys and set items must be in canonical order (strictly increasing
/// encoded bytes, so no duplicates), lengths and integers have no leading zeros, text is valid UTF-8.
/// Under these rules decoding then encoding gives back the input bytes exactly.
/// </remarks>
public static class SyrupReader
{
    /// <summary>Decodes exactly one value that fills <paramref name="data"/>.</summary>
    /// <exception cref="SyrupFormatException">Malformed, truncated, trailing bytes, or over a limit.</exception>
    public static SyrupValue Decode(ReadOnlySpan<byte> data, SyrupReaderOptions? options = null)
    {
        var status = TryRead(data, out var value, out var consumed, out var needed, options);
        if (status == SyrupReadStatus.NeedMoreData)
        {
            throw new SyrupFormatException($"Truncated Syrup value: {data.Length} bytes given, at least {needed} needed", data.Length);
        }
        if (consumed != data.Length)
        {
            throw new SyrupFormatException($"{data.Length - consumed} trailing bytes after the Syrup value", consumed);
        }
        return value!;
    }

    /// <summary>
    /// Reads one value from the start of <paramref name="buffer"/>. Returns <see cref="SyrupReadStatus.NeedMoreData"/>
    /// (with <paramref name="value"/> null and <paramref name="consumed"/> 0) when the buffer is a valid but incomplete prefix.
    /// </summary>
    /// <exception cref="SyrupFormatException">The bytes can never become a valid value, or a limit is broken.</exception>
    public static SyrupReadStatus TryRead(ReadOnlySpan<byte> buffer, out SyrupValue? value, out int consumed, SyrupReaderOptions? options = null) =>
        TryRead(buffer, out value, out consumed, out _, options);

    /// <summary>As the public overload; <paramref name="needed"/> is the minimum buffer length worth retrying with.</summary>
    internal static SyrupReadStatus TryRead(ReadOnlySpan<byte> buffer, out SyrupValue? value, out int consumed, out int needed, SyrupReaderOptions? options)
    {
        options ??= SyrupReaderOptions.Default;
        options.Validate();
        var parser = new Parser(buffer.Length > options.MaxTotalBytes ? buffer[..options.MaxTotalBytes] : buffer, options);
        if (parser.ParseValue(0, out value))
        {
            consumed = parser.Position;
            needed = 0;
            return SyrupReadStatus.Complete;
        }
        value = null;
        consumed = 0;
        needed = parser.Needed;
        return SyrupReadStatus.NeedMoreData;
    }

    private ref struct Parser(ReadOnlySpan<byte> data, SyrupReaderOptions options)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private readonly SyrupReaderOptions _options = options;
        private int _pos;
        private int _values;

        public readonly int Position => _pos;

        public int Needed { get; private set; }

        /// <summary>Records that at least <paramref name="total"/> bytes are needed; false means "need more data".</summary>
        private bool NeedMore(long total)
        {
            if (total > _options.MaxTotalBytes)
            {
                throw new SyrupFormatException($"Syrup value is larger than the limit of {_options.MaxTotalBytes} bytes", _pos, limitExceeded: true);
            }
            Needed = (int)total;
            return false;
        }

        public bool ParseValue(int depth, out SyrupValue value)
        {
            value = null!;
            if (_pos >= _data.Length)
            {
                return NeedMore(_pos + 1L);
            }
            if (++_values > _options.MaxValues)
            {
                throw new SyrupFormatException($"Syrup value holds more than {_options.MaxValues} values", _pos, limitExceeded: true);
            }
            var start = _pos;
            var b = _data[_pos];
            switch (b)
            {
                case (byte)'t':
                    _pos++;
                    value = SyrupBoolean.True;
                    return true;
                case (byte)'f':
                    _pos++;
                    value = SyrupBoolean.False;
                    return true;
                case (byte)'F':
                    if (_data.Length - _pos < 5)
                    {
                        return NeedMore(_pos + 5L);
                    }
                    value = new SyrupFloat(BinaryPrimitives.ReadSingleBigEndian(_data.Slice(_pos + 1, 4)));
                    _pos += 5;
                    return true;
                case (byte)'D':
                    if (_data.Length - _pos < 9)
                    {
                        return NeedMore(_pos + 9L);
                    }
                    value = new SyrupDouble(BinaryPrimitives.ReadDoubleBigEndian(_data.Slice(_pos + 1, 8)));
                    _pos += 9;
                    return true;
                case (byte)'[':
                case (byte)'#':
                case (byte)'<':
                case (byte)'{':
                    if (depth + 1 > _options.MaxDepth)
                    {
                        throw new SyrupFormatException($"Syrup containers nest deeper than the limit of {_options.MaxDepth}", start, limitExceeded: true);
                    }
                    _pos++;
                    return b switch
                    {
                        (byte)'[' => ParseSequence(depth + 1, (byte)']', start, out value),
                        (byte)'#' => ParseSet(depth + 1, start, out value),
                        (byte)'<' => ParseRecord(depth + 1, start, out value),
                        _ => ParseDictionary(depth + 1, out value),
                    };
                case >= (byte)'0' and <= (byte)'9':
                    return ParseNumberOrText(start, out value);
                case (byte)']' or (byte)'}' or (byte)'$' or (byte)'>':
                    throw new SyrupFormatException($"Unexpected '{(char)b}' where a value was expected", start);
                default:
                    throw new SyrupFormatException($"Unexpected byte 0x{b:x2} where a value was expected", start);
            }
        }

        private bool ParseNumberOrText(int start, out SyrupValue value)
        {
            value = null!;
            var maxDigits = Math.Max(_options.MaxIntegerDigits, 10);
            var p = _pos;
            while (p < _data.Length && char.IsAsciiDigit((char)_data[p]))
            {
                p++;
                if (p - start > maxDigits)
                {
                    throw new SyrupFormatException($"Number longer than the limit of {maxDigits} digits", start, limitExceeded: true);
                }
            }
            if (p >= _data.Length)
            {
                return NeedMore(p + 1L);
            }
            var digits = _data[start..p];
            if (digits.Length > 1 && digits[0] == (byte)'0')
            {
                throw new SyrupFormatException("Number with a leading zero (not canonical)", start);
            }
            var marker = _data[p];
            switch (marker)
            {
                case (byte)'+':
                case (byte)'-':
                    if (digits.Length > _options.MaxIntegerDigits)
                    {
                        throw new SyrupFormatException($"Integer longer than the limit of {_options.MaxIntegerDigits} digits", start, limitExceeded: true);
                    }
                    if (marker == (byte)'-' && digits is [(byte)'0'])
                    {
                        throw new SyrupFormatException("Negative zero '0-' is not a valid integer", start);
                    }
                    var magnitude = ParseDigits(digits);
                    value = new SyrupInteger(marker == (byte)'-' ? -magnitude : magnitude);
                    _pos = p + 1;
                    return true;
                case (byte)':':
                case (byte)'"':
                case (byte)'\'':
                    if (digits.Length > 10)
                    {
                        throw new SyrupFormatException($"Length with {digits.Length} digits is larger than the limit of {_options.MaxLength} bytes", start, limitExceeded: true);
                    }
                    var length = long.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);
                    if (length > _options.MaxLength)
                    {
                        throw new SyrupFormatException($"Length {length} is larger than the limit of {_options.MaxLength} bytes", start, limitExceeded: true);
                    }
                    var payloadStart = p + 1;
                    if (payloadStart + length > _data.Length)
                    {
                        return NeedMore(payloadStart + length);
                    }
                    var payload = _data.Slice(payloadStart, (int)length);
                    value = marker switch
                    {
                        (byte)':' => SyrupBytes.Own(payload.ToArray()),
                        (byte)'"' => SyrupString.Trusted(DecodeUtf8(payload, payloadStart, "string")),
                        _ => SyrupSymbol.Trusted(DecodeUtf8(payload, payloadStart, "symbol")),
                    };
                    _pos = payloadStart + (int)length;
                    return true;
                default:
                    throw new SyrupFormatException($"Unexpected byte 0x{marker:x2} after digits (expected '+', '-', ':', '\"' or ''')", p);
            }
        }

        private static BigInteger ParseDigits(ReadOnlySpan<byte> digits)
        {
            if (digits.Length <= 18)
            {
                return long.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);
            }
            var chars = ArrayPool<char>.Shared.Rent(digits.Length);
            try
            {
                for (var i = 0; i < digits.Length; i++)
                {
                    chars[i] = (char)digits[i];
                }
                return BigInteger.Parse(chars.AsSpan(0, digits.Length), NumberStyles.None, CultureInfo.InvariantCulture);
            }
            finally
            {
                ArrayPool<char>.Shared.Return(chars);
            }
        }

        private static string DecodeUtf8(ReadOnlySpan<byte> payload, int offset, string what)
        {
            try
            {
                return SyrupText.StrictUtf8.GetString(payload);
            }
            catch (ArgumentException ex)
            {
                throw new SyrupFormatException($"The {what} is not valid UTF-8: {ex.Message}", offset);
            }
        }

        /// <summary>True and consumes the closer when the next byte is <paramref name="closer"/>; false for another byte; null for end of data.</summary>
        private bool? AtCloser(byte closer)
        {
            if (_pos >= _data.Length)
            {
                return null;
            }
            if (_data[_pos] == closer)
            {
                _pos++;
                return true;
            }
            return false;
        }

        private bool ParseSequence(int depth, byte closer, int start, out SyrupValue value)
        {
            value = null!;
            var items = new List<SyrupValue>();
            while (true)
            {
                switch (AtCloser(closer))
                {
                    case null:
                        return NeedMore(_pos + 1L);
                    case true:
                        value = SyrupList.Own([.. items]);
                        return true;
                }
                if (!ParseValue(depth, out var item))
                {
                    return false;
                }
                items.Add(item);
            }
        }

        private bool ParseRecord(int depth, int start, out SyrupValue value)
        {
            value = null!;
            if (_pos >= _data.Length)
            {
                return NeedMore(_pos + 1L);
            }
            if (_data[_pos] == (byte)'>')
            {
                throw new SyrupFormatException("Record without a label", start);
            }
            if (!ParseValue(depth, out var label))
            {
                return false;
            }
            var fields = new List<SyrupValue>();
            while (true)
            {
                switch (AtCloser((byte)'>'))
                {
                    case null:
                        return NeedMore(_pos + 1L);
                    case true:
                        value = SyrupRecord.Own(label, [.. fields]);
                        return true;
                }
                if (!ParseValue(depth, out var field))
                {
                    return false;
                }
                fields.Add(field);
            }
        }

        private bool ParseSet(int depth, int start, out SyrupValue value)
        {
            value = null!;
            var items = new List<SyrupValue>();
            int prevStart = -1, prevEnd = -1;
            while (true)
            {
                switch (AtCloser((byte)'$'))
                {
                    case null:
                        return NeedMore(_pos + 1L);
                    case true:
                        value = SyrupSet.OwnSorted([.. items]);
                        return true;
                }
                var itemStart = _pos;
                if (!ParseValue(depth, out var item))
                {
                    return false;
                }
                CheckOrder(prevStart, prevEnd, itemStart, _pos, "set item");
                (prevStart, prevEnd) = (itemStart, _pos);
                items.Add(item);
            }
        }

        private bool ParseDictionary(int depth, out SyrupValue value)
        {
            value = null!;
            var entries = new List<KeyValuePair<SyrupValue, SyrupValue>>();
            int prevStart = -1, prevEnd = -1;
            while (true)
            {
                switch (AtCloser((byte)'}'))
                {
                    case null:
                        return NeedMore(_pos + 1L);
                    case true:
                        value = SyrupDictionary.OwnSorted([.. entries]);
                        return true;
                }
                var keyStart = _pos;
                if (!ParseValue(depth, out var key))
                {
                    return false;
                }
                CheckOrder(prevStart, prevEnd, keyStart, _pos, "dictionary key");
                (prevStart, prevEnd) = (keyStart, _pos);
                if (_pos < _data.Length && _data[_pos] == (byte)'}')
                {
                    throw new SyrupFormatException("Dictionary ends after a key that has no value", _pos);
                }
                if (!ParseValue(depth, out var val))
                {
                    return false;
                }
                entries.Add(new(key, val));
            }
        }

        /// <summary>Canonical order: each encoding strictly greater (bytewise) than the one before.</summary>
        private readonly void CheckOrder(int prevStart, int prevEnd, int start, int end, string what)
        {
            if (prevStart < 0)
            {
                return;
            }
            var cmp = _data[start..end].SequenceCompareTo(_data[prevStart..prevEnd]);
            if (cmp == 0)
            {
                throw new SyrupFormatException($"Duplicate {what}", start);
            }
            if (cmp < 0)
            {
                throw new SyrupFormatException($"The {what} is out of canonical order (encodings must increase bytewise)", start);
            }
        }
    }
}
