using System.Security.Authentication;
using Microsoft.Extensions.Logging;

namespace Pinhole.Ocapn;

/// <summary>Options for <see cref="OcapnTcpTlsNetlayer.ConnectAsync(OcapnLocator, OcapnTcpTlsConnectOptions?, CancellationToken)"/>; all have defaults.</summary>
public sealed class OcapnTcpTlsConnectOptions
{
    /// <summary>
    /// This node's identity, presented as a TLS client certificate only if the listener asks for one (a Pinhole
    /// listener with <see cref="OcapnClientAuthentication"/> on; Goblins listeners never ask). Null: stay anonymous.
    /// </summary>
    public OcapnNode? Node { get; set; }

    /// <summary>Time allowed for TCP connect, the pre-TLS exchange and the TLS handshake together. Default 10 s.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Largest certificate PEM accepted from a listener. Default <see cref="OcapnNode.MaxCertificatePemLength"/> (64 KiB).</summary>
    public int MaxCertificatePemLength { get; set; } = OcapnNode.MaxCertificatePemLength;

    /// <summary>Port dialled when the locator has no <c>port</c> hint. Default 8088, as Goblins.</summary>
    public int DefaultPort { get; set; } = 8088;

    /// <summary>
    /// Refuse a listener certificate outside its validity period, as Goblins' GnuTLS status check does. Default true.
    /// </summary>
    public bool CheckValidityPeriod { get; set; } = true;

    /// <summary>TLS versions. Default <see cref="SslProtocols.None"/>: the system's choice (TLS 1.2 and 1.3).</summary>
    public SslProtocols EnabledSslProtocols { get; set; } = SslProtocols.None;

    /// <summary>Clock for timeouts and certificate validity. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Logger. Default none.</summary>
    public ILogger? Logger { get; set; }

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(TimeProvider);
        if (HandshakeTimeout <= TimeSpan.Zero && HandshakeTimeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(HandshakeTimeout), HandshakeTimeout, "HandshakeTimeout must be positive.");
        }
        if (MaxCertificatePemLength is < 64 or > 16 * 1024 * 1024)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxCertificatePemLength), MaxCertificatePemLength, "MaxCertificatePemLength must be between 64 bytes and 16 MiB.");
        }
        if (DefaultPort is < 1 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(DefaultPort), DefaultPort, "DefaultPort must be between 1 and 65535.");
        }
    }
}
