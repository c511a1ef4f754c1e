namespace Pinhole.Cli.Output;

/// <summary>
/// Plain aligned text (docs/cli.md, "Conventions"): a table with an upper-case header line and columns two
/// spaces apart, or <c>name: value</c> fields with aligned values. Empty cells print as <c>-</c>; nothing is
/// truncated or coloured.
/// </summary>
internal sealed class TextTable
{
    private const string Gap = "  ";
    private readonly string[] _headers;
    private readonly List<string[]> _rows = [];

    /// <summary>A table with these column headers (printed upper-case).</summary>
    public TextTable(params string[] headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        if (headers.Length == 0)
        {
            throw new ArgumentException("A table needs at least one column.", nameof(headers));
        }
        _headers = [.. headers.Select(h => h.ToUpperInvariant())];
    }

    /// <summary>The number of rows added.</summary>
    public int Count => _rows.Count;

    /// <summary>Adds a row; it must have one cell per column (null or empty prints as <c>-</c>).</summary>
    public TextTable Add(params string?[] cells)
    {
        ArgumentNullException.ThrowIfNull(cells);
        if (cells.Length != _headers.Length)
        {
            throw new ArgumentException($"The table has {_headers.Length} columns; the row has {cells.Length} cells.", nameof(cells));
        }
        _rows.Add([.. cells.Select(Cell)]);
        return this;
    }

    /// <summary>Writes the header and the rows; the last column is not padded.</summary>
    public void Write(TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var widths = new int[_headers.Length];
        foreach (var row in _rows.Prepend(_headers))
        {
            for (var i = 0; i < row.Length; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }
        foreach (var row in _rows.Prepend(_headers))
        {
            WriteRow(output, row, widths);
        }
    }

    /// <summary>The table as text (for tests and for callers that build output first).</summary>
    public override string ToString()
    {
        using var writer = new StringWriter();
        Write(writer);
        return writer.ToString();
    }

    /// <summary>Writes one record as <c>name: value</c> lines, values aligned after the longest name.</summary>
    public static void Fields(TextWriter output, IEnumerable<(string Name, string? Value)> fields)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(fields);
        var list = fields.ToList();
        var width = list.Count == 0 ? 0 : list.Max(f => f.Name.Length) + 1;
        foreach (var (name, value) in list)
        {
            output.Write((name + ":").PadRight(width));
            output.Write(' ');
            output.WriteLine(Cell(value));
        }
    }

    private static void WriteRow(TextWriter output, string[] row, int[] widths)
    {
        for (var i = 0; i < row.Length; i++)
        {
            var last = i == row.Length - 1;
            output.Write(last ? row[i] : row[i].PadRight(widths[i]));
            if (!last)
            {
                output.Write(Gap);
            }
        }
        output.WriteLine();
    }

    // One line per record: a value with a line break would break every reader of the table.
    private static string Cell(string? value) => string.IsNullOrEmpty(value) ? "-" : value.ReplaceLineEndings(" ");
}
