namespace Pinhole.Dtls.Native;

/// <summary>
/// Receives OpenSSL's callbacks for the SSL object currently being driven on this thread
/// (see <see cref="DtlsCallbacks"/>). Implementations must not throw.
/// </summary>
internal interface IDtlsCallbackTarget
{
    /// <summary>Checks the peer's leaf certificate (DER); false aborts the handshake with an alert.</summary>
    bool VerifyPeerCertificate(ReadOnlySpan<byte> certificateDer);

    /// <summary>Writes a cookie for the current source address; returns its length, or -1 on failure.</summary>
    int GenerateCookie(Span<byte> cookie);

    /// <summary>Checks a cookie echoed by a client against the current source address.</summary>
    bool VerifyCookie(ReadOnlySpan<byte> cookie);

    /// <summary>Next handshake retransmission timeout in microseconds, given the previous one (0 at start).</summary>
    uint NextRetransmitTimeout(uint previousMicroseconds);
}
