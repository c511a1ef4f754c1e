namespace Pinhole.Messaging.MessagePack;

/// <summary>
/// MessagePack input that is malformed, truncated, of an unexpected type or over a configured limit.
/// <see cref="Offset"/> is the byte offset of the value at fault from the start of the input.
/// </summary>
public class MessagePackException : FormatException
{
    /// <summary>Creates an exception for the value at <paramref name="offset"/>.</summary>
    public MessagePackException(string message, long offset, Exception? innerException = null)
        : base($"{message} (at byte offset {offset})", innerException)
    {
        Offset = offset;
    }

    /// <summary>Creates an exception with no known offset.</summary>
    public MessagePackException() : this("Invalid MessagePack data.", -1) { }

    /// <summary>Creates an exception with no known offset.</summary>
    public MessagePackException(string message) : this(message, -1) { }

    /// <summary>Creates an exception with no known offset.</summary>
    public MessagePackException(string message, Exception innerException) : this(message, -1, innerException) { }

    /// <summary>Byte offset of the value at fault, or -1 if unknown.</summary>
    public long Offset { get; }

    /// <summary>True when the input ended inside a value (more bytes would have been needed).</summary>
    public bool IsTruncated { get; init; }

    /// <summary>True when a configured limit (depth, length) was exceeded rather than the format broken.</summary>
    public bool IsLimitExceeded { get; init; }
}
