namespace Pinhole.Ocapn.Syrup;

/// <summary>Malformed or over-limit Syrup input. The message names the problem and the byte offset.</summary>
public class SyrupFormatException : FormatException
{
    /// <summary>Creates an exception for input at <paramref name="offset"/>.</summary>
    public SyrupFormatException(string message, long offset, bool limitExceeded = false)
        : base($"{message} (at byte offset {offset})")
    {
        Offset = offset;
        LimitExceeded = limitExceeded;
    }

    /// <summary>Creates an exception with no offset.</summary>
    public SyrupFormatException() : this("Malformed Syrup input.", 0) { }

    /// <summary>Creates an exception with no offset.</summary>
    public SyrupFormatException(string message) : this(message, 0) { }

    /// <summary>Creates an exception with no offset.</summary>
    public SyrupFormatException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Offset of the offending byte from the start of the value.</summary>
    public long Offset { get; }

    /// <summary>True when the input broke a <see cref="SyrupReaderOptions"/> limit rather than the grammar.</summary>
    public bool LimitExceeded { get; }
}
