using System.Net.Security;

namespace Pinhole.Benchmarks.Transport;

/// <summary>
/// Two node identities and, for the bare baseline, one certificate context each, made the way Pinhole
/// makes its own (<see cref="Libp2pCertificate.Create"/>, then a context built once and reused).
/// </summary>
internal sealed class BenchIdentities : IDisposable
{
    public NodeIdentity Server { get; } = NodeIdentity.Generate();

    public NodeIdentity Client { get; } = NodeIdentity.Generate();

    public SslStreamCertificateContext ServerCertificate { get; }

    public SslStreamCertificateContext ClientCertificate { get; }

    public BenchIdentities()
    {
        ServerCertificate = SslStreamCertificateContext.Create(Libp2pCertificate.Create(Server), additionalCertificates: null, offline: true);
        ClientCertificate = SslStreamCertificateContext.Create(Libp2pCertificate.Create(Client), additionalCertificates: null, offline: true);
    }

    public void Dispose()
    {
        Server.Dispose();
        Client.Dispose();
    }
}
