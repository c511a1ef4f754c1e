using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Pinhole.Ocapn;

/// <summary>
/// An established <c>tcp-tls</c> connection: a TLS stream (which carries CapTP's Syrup messages) and who is at the
/// other end. Disposing it closes the TCP connection and frees its slot in the listener's connection cap.
/// </summary>
public sealed class OcapnTcpTlsConnection : IAsyncDisposable, IDisposable
{
    private readonly SslStream _ssl;
    private Action? _onClose;

    internal OcapnTcpTlsConnection(SslStream ssl, bool isInbound, string? remoteDesignator, X509Certificate2? remoteCertificate,
        OcapnLocator? remoteLocator, IPEndPoint? localEndPoint, IPEndPoint? remoteEndPoint, bool presentedCertificate, Action? onClose)
    {
        _ssl = ssl;
        IsInbound = isInbound;
        RemoteDesignator = remoteDesignator;
        RemoteCertificate = remoteCertificate;
        RemoteLocator = remoteLocator;
        LocalEndPoint = Unmap(localEndPoint);
        RemoteEndPoint = Unmap(remoteEndPoint);
        PresentedCertificate = presentedCertificate;
        _onClose = onClose;
    }

    // A dual-mode socket reports IPv4 peers as ::ffff:a.b.c.d; show them as plain IPv4.
    private static IPEndPoint? Unmap(IPEndPoint? endPoint) =>
        endPoint is { Address.IsIPv4MappedToIPv6: true } ? new IPEndPoint(endPoint.Address.MapToIPv4(), endPoint.Port) : endPoint;

    /// <summary>The TLS stream; application bytes (Syrup) flow here.</summary>
    public Stream Stream => _ssl;

    /// <summary>True when we accepted this connection, false when we dialled it.</summary>
    public bool IsInbound { get; }

    /// <summary>
    /// The verified designator of the other node. Dialer side: always the designator that was dialled (checked
    /// before TLS and pinned during it). Listener side: the dialer's, if it presented a certificate; otherwise null.
    /// </summary>
    public string? RemoteDesignator { get; }

    /// <summary>True when <see cref="RemoteDesignator"/> is known.</summary>
    public bool IsRemoteAuthenticated => RemoteDesignator is not null;

    /// <summary>The certificate the other end used in TLS, if any.</summary>
    public X509Certificate2? RemoteCertificate { get; }

    /// <summary>Dialer side: the locator that was dialled. Listener side: a locator built from the dialer's designator (no hints), if authenticated.</summary>
    public OcapnLocator? RemoteLocator { get; }

    /// <summary>Dialer side: whether we presented our certificate because the listener asked for one. Listener side: false.</summary>
    public bool PresentedCertificate { get; }

    /// <summary>Our TCP end point.</summary>
    public IPEndPoint? LocalEndPoint { get; }

    /// <summary>The other TCP end point.</summary>
    public IPEndPoint? RemoteEndPoint { get; }

    /// <summary>The TLS version in use.</summary>
    public SslProtocols SslProtocol => _ssl.SslProtocol;

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await _ssl.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Exchange(ref _onClose, null)?.Invoke();
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        try
        {
            _ssl.Dispose();
        }
        finally
        {
            Interlocked.Exchange(ref _onClose, null)?.Invoke();
        }
    }
}
