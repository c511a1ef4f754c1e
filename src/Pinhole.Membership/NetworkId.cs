using System.Diagnostics.CodeAnalysis;
using Pinhole.Codecs;

namespace Pinhole.Membership;

/// <summary>
/// A private network's name: the <see cref="RecordId"/> of its genesis record, which lists the admin keys. Whoever
/// holds the id can check the genesis a coordinator serves; nobody can make another genesis with the same id.
/// </summary>
/// <remarks>Text form: <c>pn</c> followed by the 32 bytes in lowercase unpadded base32 (52 characters).</remarks>
public sealed class NetworkId : IEquatable<NetworkId>
{
    /// <summary>The text prefix.</summary>
    public const string TextPrefix = "pn";

    /// <summary>Length of the text form.</summary>
    public const int TextLength = 54;

    private readonly byte[] _bytes;
    private readonly string _text;

    private NetworkId(byte[] bytes)
    {
        _bytes = bytes;
        _text = TextPrefix + Base32.Encode(bytes);
    }

    /// <summary>The 32 id bytes.</summary>
    public ReadOnlyMemory<byte> Bytes => _bytes;

    /// <summary>The network named by a genesis record id.</summary>
    public static NetworkId FromRecordId(RecordId id) => new(id.Span.ToArray());

    /// <summary>Wraps 32 bytes; throws <see cref="FormatException"/> for any other length.</summary>
    public static NetworkId FromBytes(ReadOnlySpan<byte> bytes) => bytes.Length == RecordId.Length
        ? new NetworkId(bytes.ToArray())
        : throw new FormatException($"A network id is {RecordId.Length} bytes, not {bytes.Length}.");

    /// <summary>Parses the text form; the error says what is wrong.</summary>
    public static NetworkId Parse(string text) => TryParse(text, out var id, out var error) ? id : throw new FormatException(error);

    /// <summary>Parses the text form.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out NetworkId? id) => TryParse(text, out id, out _);

    private static bool TryParse(string? text, [NotNullWhen(true)] out NetworkId? id, [NotNullWhen(false)] out string? error)
    {
        id = null;
        if (text is null || text.Length != TextLength || !text.StartsWith(TextPrefix, StringComparison.Ordinal))
        {
            error = $"'{Shorten(text)}' is not a network id (pn followed by 52 base32 characters).";
            return false;
        }
        byte[] bytes;
        try
        {
            bytes = Base32.Decode(text.AsSpan(TextPrefix.Length));
        }
        catch (FormatException e)
        {
            error = $"'{text}' is not a network id: {e.Message}";
            return false;
        }
        if (bytes.Length != RecordId.Length || !string.Equals(Base32.Encode(bytes), text[TextPrefix.Length..], StringComparison.OrdinalIgnoreCase))
        {
            error = $"'{text}' is not a network id: it does not encode 32 bytes canonically.";
            return false;
        }
        id = new NetworkId(bytes);
        error = null;
        return true;
    }

    private static string Shorten(string? text) => text is null ? "" : text.Length > 64 ? text[..64] + "…" : text;

    /// <inheritdoc/>
    public override string ToString() => _text;

    /// <inheritdoc/>
    public bool Equals(NetworkId? other) => other is not null && _bytes.AsSpan().SequenceEqual(other._bytes);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as NetworkId);

    /// <inheritdoc/>
    public override int GetHashCode() => BitConverter.ToInt32(_bytes);

    /// <summary>Equality.</summary>
    public static bool operator ==(NetworkId? left, NetworkId? right) => left is null ? right is null : left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(NetworkId? left, NetworkId? right) => !(left == right);
}
