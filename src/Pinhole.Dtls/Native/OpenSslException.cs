namespace Pinhole.Dtls.Native;

/// <summary>An OpenSSL call failed; the message carries the drained error queue.</summary>
internal sealed class OpenSslException : Exception
{
    /// <summary>Creates the exception.</summary>
    public OpenSslException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public OpenSslException() { }

    /// <summary>Creates the exception.</summary>
    public OpenSslException(string message, Exception innerException) : base(message, innerException) { }
}
