using System.Globalization;
using System.Text;

namespace Pinhole.Ocapn.Syrup;

/// <summary>Helpers shared by the value types: text validation, equality, hashing and the debug text form.</summary>
internal static class SyrupText
{
    internal static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    internal static void EnsureWellFormed(string value, string paramName)
    {
        if (!IsWellFormed(value))
        {
            throw new ArgumentException("The text has a lone surrogate and has no UTF-8 form.", paramName);
        }
    }

    private static bool IsWellFormed(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (char.IsHighSurrogate(c))
            {
                if (i + 1 >= value.Length || !char.IsLowSurrogate(value[i + 1]))
                {
                    return false;
                }
                i++;
            }
            else if (char.IsLowSurrogate(c))
            {
                return false;
            }
        }
        return true;
    }

    internal static bool SequenceEqual(SyrupValue[] a, SyrupValue[] b)
    {
        if (a.Length != b.Length)
        {
            return false;
        }
        for (var i = 0; i < a.Length; i++)
        {
            if (!a[i].Equals(b[i]))
            {
                return false;
            }
        }
        return true;
    }

    internal static int CombineHashes(SyrupValue[] items, int seed)
    {
        var hash = new HashCode();
        hash.Add(seed);
        foreach (var item in items)
        {
            hash.Add(item);
        }
        return hash.ToHashCode();
    }

    internal static string Format(SyrupValue value)
    {
        var sb = new StringBuilder();
        Append(sb, value);
        return sb.ToString();
    }

    private static void Append(StringBuilder sb, SyrupValue value)
    {
        switch (value)
        {
            case SyrupBoolean b:
                sb.Append(b.Value ? "#t" : "#f");
                break;
            case SyrupFloat f:
                sb.Append(f.Value.ToString("R", CultureInfo.InvariantCulture)).Append('f');
                break;
            case SyrupDouble d:
                sb.Append(d.Value.ToString("R", CultureInfo.InvariantCulture));
                if (double.IsFinite(d.Value) && d.Value == Math.Floor(d.Value))
                {
                    sb.Append(".0");
                }
                break;
            case SyrupInteger i:
                sb.Append(i.Value.ToString(CultureInfo.InvariantCulture));
                break;
            case SyrupBytes bytes:
                sb.Append("#[").Append(Convert.ToHexStringLower(bytes.Span)).Append(']');
                break;
            case SyrupString s:
                AppendQuoted(sb, s.Value, '"');
                break;
            case SyrupSymbol sym:
                sb.Append('\'');
                AppendQuoted(sb, sym.Name, '|');
                break;
            case SyrupList list:
                AppendAll(sb, '[', list.Items, ']');
                break;
            case SyrupSet set:
                AppendAll(sb, "#{", set.Items, '}');
                break;
            case SyrupRecord record:
                sb.Append('<');
                Append(sb, record.Label);
                foreach (var field in record.Fields)
                {
                    sb.Append(' ');
                    Append(sb, field);
                }
                sb.Append('>');
                break;
            case SyrupDictionary dict:
                sb.Append('{');
                var first = true;
                foreach (var (key, val) in dict.Entries)
                {
                    if (!first)
                    {
                        sb.Append(", ");
                    }
                    first = false;
                    Append(sb, key);
                    sb.Append(": ");
                    Append(sb, val);
                }
                sb.Append('}');
                break;
            default:
                sb.Append('?');
                break;
        }
    }

    private static void AppendAll(StringBuilder sb, object open, IReadOnlyList<SyrupValue> items, char close)
    {
        sb.Append(open);
        for (var i = 0; i < items.Count; i++)
        {
            if (i > 0)
            {
                sb.Append(' ');
            }
            Append(sb, items[i]);
        }
        sb.Append(close);
    }

    private static void AppendQuoted(StringBuilder sb, string text, char quote)
    {
        sb.Append(quote);
        foreach (var c in text)
        {
            if (c == quote || c == '\\')
            {
                sb.Append('\\').Append(c);
            }
            else if (c < ' ')
            {
                sb.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            }
            else
            {
                sb.Append(c);
            }
        }
        sb.Append(quote);
    }
}
