using System.Net;
using System.Security.Authentication;

namespace Pinhole.Ocapn;

/// <summary>
/// What <see cref="OcapnTcpTlsNetlayer.PingAsync"/> proved: a node answered at the hinted address, sent a
/// certificate PEM hashing to the designator, and completed a TLS handshake with that certificate's key.
/// </summary>
public sealed class OcapnPingResult
{
    /// <summary>The verified designator.</summary>
    public required string Designator { get; init; }

    /// <summary>The address that answered.</summary>
    public IPEndPoint? RemoteEndPoint { get; init; }

    /// <summary>Negotiated TLS version.</summary>
    public SslProtocols SslProtocol { get; init; }

    /// <summary>The certificate's subject, e.g. <c>CN=CapTP, OU=Goblins, ...</c>.</summary>
    public required string CertificateSubject { get; init; }

    /// <summary>The certificate's key type, <c>RSA</c> or <c>ECDSA</c>.</summary>
    public required string KeyAlgorithm { get; init; }

    /// <summary>Time from TCP connect to completed TLS handshake.</summary>
    public TimeSpan Elapsed { get; init; }
}
