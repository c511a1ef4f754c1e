using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Pinhole.Reliability.Tests.Support;
using Xunit.Abstractions;

namespace Pinhole.Reliability.Tests.Hostile;

/// <summary>A TLS client the listener rejects (no libp2p certificate) is told so with a TLS alert, not a bare close.</summary>
public sealed class TlsAlertTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_rejected_TLS_client_gets_an_alert()
    {
        using var identity = NodeIdentity.Generate();
        await using var listener = await PeerListener.ListenAsync(Dialer.Options(identity));
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(Dialer.EndPoint(listener));
        var negotiation = Convert.FromHexString("132f6d756c746973747265616d2f312e302e300a0b2f746c732f312e302e300a");
        await socket.SendAsync(negotiation, SocketFlags.None);
        var answer = new byte[negotiation.Length];
        await new NetworkStream(socket, ownsSocket: false).ReadExactlyAsync(answer, Dialer.Bounded());
        Assert.Equal(negotiation, answer);

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var plain = new CertificateRequest("CN=not-libp2p", key, HashAlgorithmName.SHA256).CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1));
        using var exported = X509CertificateLoader.LoadPkcs12(plain.Export(X509ContentType.Pfx), null);
        await using var tls = new SslStream(new NetworkStream(socket, ownsSocket: false));
        var error = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "",
                EnabledSslProtocols = SslProtocols.Tls13,
                ClientCertificates = [exported],
                RemoteCertificateValidationCallback = (_, _, _, _) => true,
            }, Dialer.Bounded());
            // TLS 1.3: the client's handshake is over before the server judges its certificate; the alert comes next.
            await tls.ReadExactlyAsync(new byte[1], Dialer.Bounded());
        });
        var messages = string.Join(" | ", Chain(error).Select(e => $"{e.GetType().Name}: {e.Message}"));
        output.WriteLine(messages);
        Assert.Contains("alert", messages, StringComparison.OrdinalIgnoreCase);
    }

    private static IEnumerable<Exception> Chain(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            yield return e;
        }
    }
}
