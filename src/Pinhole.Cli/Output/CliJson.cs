using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Pinhole.Cli.Output;

/// <summary>
/// <c>--json</c> output (docs/cli.md, "Conventions"): each value is one compact line (JSON Lines), written through
/// a System.Text.Json source-generated context so it works under NativeAOT. A command declares its records and
/// a context such as:
/// <code>
/// [JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
/// [JsonSerializable(typeof(StatusJson))]
/// internal sealed partial class StatusJsonContext : JsonSerializerContext;
/// </code>
/// and writes with <c>CliJson.Write(Console.Out, status, StatusJsonContext.Default.StatusJson)</c>.
/// </summary>
internal static class CliJson
{
    // Relaxed escaping: '+', '<', '&' and non-ASCII stay readable (the output is not embedded in HTML).
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = false };

    /// <summary>A new <c>--json</c> option for a command (an option instance belongs to one command).</summary>
    public static Option<bool> CreateOption(string what = "the result") =>
        new("--json") { Description = $"Print {what} as JSON (one object per line; docs/cli.md)." };

    /// <summary>Serializes <paramref name="value"/> as one line to <paramref name="output"/>.</summary>
    public static void Write<T>(TextWriter output, T value, JsonTypeInfo<T> typeInfo)
    {
        ArgumentNullException.ThrowIfNull(output);
        output.WriteLine(Serialize(value, typeInfo));
    }

    /// <summary>Serializes <paramref name="value"/> as one line to <paramref name="output"/> and flushes, for streams read as they come.</summary>
    public static async Task WriteAsync<T>(TextWriter output, T value, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        await output.WriteLineAsync(Serialize(value, typeInfo).AsMemory(), cancellationToken).ConfigureAwait(false);
        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The one-line JSON text of <paramref name="value"/>.</summary>
    public static string Serialize<T>(T value, JsonTypeInfo<T> typeInfo)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            JsonSerializer.Serialize(writer, value, typeInfo);
        }
        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
