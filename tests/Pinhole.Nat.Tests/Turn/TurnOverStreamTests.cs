using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Channels;
using Pinhole.Dtls;
using Pinhole.Nat.Tests.Support;
using Pinhole.Testing;

namespace Pinhole.Nat.Tests.Turn;

/// <summary>
/// TURN over TCP and TLS against a real coturn on 127.0.0.1: for networks that block UDP the client reaches the
/// server over a stream (<see cref="TurnStreamBind"/>) and the relayed side stays UDP. The same allocation API as
/// over UDP, both framings, DTLS through it, and the allocation lost when the connection ends.
/// </summary>
public sealed class TurnOverStreamTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(60);

    private static UdpMux Mux(IDatagramBind bind) => UdpMux.Create(bind, new UdpMuxOptions { StunClient = TurnStreamBind.StunOptions() });

    [ToolFact("turnserver")]
    public async Task Allocates_and_relays_both_framings_over_tcp()
    {
        await using Coturn coturn = await Coturn.StartAsync();
        using var guard = new CancellationTokenSource(HangGuard);
        await using TurnStreamBind tcp = await TurnStreamBind.ConnectAsync(coturn.EndPoint, guard.Token);
        await using UdpMux mux = Mux(tcp);
        await using TurnAllocation allocation = await TurnAllocation.AllocateAsync(mux, coturn.Options(), guard.Token);
        Assert.Equal(IPAddress.Loopback, allocation.RelayedAddress.Address);
        Assert.Equal(tcp.LocalEndPoint, allocation.MappedAddress); // the server saw our TCP source
        Assert.Equal(TimeSpan.FromSeconds(600), await allocation.RefreshAsync(guard.Token));

        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        peer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var peerAddress = (IPEndPoint)peer.LocalEndPoint!;
        var received = Channel.CreateUnbounded<(TurnPeerEndPoint From, byte[] Data)>();
        allocation.SetDataHandler((from, data) => received.Writer.TryWrite((from, data.ToArray())));
        await allocation.CreatePermissionAsync(peerAddress, guard.Token);

        // Send/Data indications: STUN messages on the stream.
        await allocation.SendAsync(peerAddress, "send indication over tcp"u8.ToArray(), guard.Token);
        Assert.Equal("send indication over tcp"u8.ToArray(), (await ReceiveAsync(peer, guard.Token)).Data);
        await peer.SendToAsync("data indication over tcp"u8.ToArray(), SocketFlags.None, allocation.RelayedAddress, guard.Token);
        Assert.Equal("data indication over tcp"u8.ToArray(), (await received.Reader.ReadAsync(guard.Token)).Data);

        // ChannelData of every length mod 4: padded on the stream, delivered unpadded both ways.
        TurnPeerEndPoint bound = await allocation.BindChannelAsync(peerAddress, guard.Token);
        for (int length = 1; length <= 8; length++)
        {
            byte[] out1 = RandomNumberGenerator.GetBytes(length);
            await bound.SendAsync(out1, guard.Token);
            Assert.Equal(out1, (await ReceiveAsync(peer, guard.Token)).Data);
            byte[] in1 = RandomNumberGenerator.GetBytes(length + 100);
            await peer.SendToAsync(in1, SocketFlags.None, allocation.RelayedAddress, guard.Token);
            (TurnPeerEndPoint from, byte[] data) = await received.Reader.ReadAsync(guard.Token);
            Assert.Same(bound, from);
            Assert.Equal(in1, data);
        }
        Assert.Equal(0, allocation.Statistics.Dropped);
        Assert.Null(tcp.ClosedBecause);
    }

    [ToolFact("turnserver")]
    public async Task Dtls_runs_through_a_tcp_allocation_to_a_udp_one()
    {
        await using Coturn coturn = await Coturn.StartAsync();
        using var guard = new CancellationTokenSource(HangGuard);
        await using TurnStreamBind tcp = await TurnStreamBind.ConnectAsync(coturn.EndPoint, guard.Token);
        await using UdpMux muxA = Mux(tcp);
        await using UdpMux muxB = UdpMux.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        await using TurnAllocation turnA = await TurnAllocation.AllocateAsync(muxA, coturn.Options(), guard.Token);
        await using TurnAllocation turnB = await TurnAllocation.AllocateAsync(muxB, coturn.Options(), guard.Token);
        TurnPeerEndPoint aToB = await turnA.BindChannelAsync(turnB.RelayedAddress, guard.Token);
        TurnPeerEndPoint bToA = await turnB.BindChannelAsync(turnA.RelayedAddress, guard.Token);

        await DtlsExchange.RunAsync(muxA, aToB, muxB, bToA, "through TCP to the relay, UDP beyond"u8.ToArray(), "pong"u8.ToArray(), guard.Token);
    }

    [ToolFact("turnserver")]
    public async Task Allocates_over_tls_with_the_servers_certificate_pinned_and_refuses_another()
    {
        string dir = Directory.CreateTempSubdirectory("pinhole-turns").FullName;
        try
        {
            using X509Certificate2 certificate = SelfSigned("turn.pinhole.test");
            await File.WriteAllTextAsync(Path.Combine(dir, "cert.pem"), certificate.ExportCertificatePem());
            using (RSA key = certificate.GetRSAPrivateKey()!)
            {
                await File.WriteAllTextAsync(Path.Combine(dir, "key.pem"), key.ExportPkcs8PrivateKeyPem());
            }
            int tlsPort = FreePort.Tcp();
            await using Coturn coturn = await Coturn.StartAsync($"--cert={Path.Combine(dir, "cert.pem")}", $"--pkey={Path.Combine(dir, "key.pem")}", $"--tls-listening-port={tlsPort}");
            var server = new IPEndPoint(IPAddress.Loopback, tlsPort);
            using var guard = new CancellationTokenSource(HangGuard);
            string pinned = certificate.GetCertHashString(HashAlgorithmName.SHA256);
            SslClientAuthenticationOptions Tls(string expected) => new()
            {
                TargetHost = "turn.pinhole.test",
                RemoteCertificateValidationCallback = (_, cert, _, _) => cert is not null && cert.GetCertHashString(HashAlgorithmName.SHA256) == expected,
            };

            PeerException wrong = await Assert.ThrowsAsync<PeerException>(() => TurnStreamBind.ConnectTlsAsync(server, Tls(new string('0', 64)), guard.Token));
            Assert.Equal(PeerError.HandshakeFailed, wrong.Error);

            await using TurnStreamBind tls = await TurnStreamBind.ConnectTlsAsync(server, Tls(pinned), guard.Token);
            await using UdpMux mux = Mux(tls);
            TurnClientOptions options = coturn.Options();
            options.Server = server;
            await using TurnAllocation allocation = await TurnAllocation.AllocateAsync(mux, options, guard.Token);
            using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            peer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            TurnPeerEndPoint bound = await allocation.BindChannelAsync((IPEndPoint)peer.LocalEndPoint!, guard.Token);
            await bound.SendAsync("over TURNS"u8.ToArray(), guard.Token);
            Assert.Equal("over TURNS"u8.ToArray(), (await ReceiveAsync(peer, guard.Token)).Data);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [ToolFact("turnserver")]
    public async Task The_allocation_is_lost_when_the_server_goes_away()
    {
        await using Coturn coturn = await Coturn.StartAsync();
        using var guard = new CancellationTokenSource(HangGuard);
        await using TurnStreamBind tcp = await TurnStreamBind.ConnectAsync(coturn.EndPoint, guard.Token);
        await using UdpMux mux = Mux(tcp);
        await using TurnAllocation allocation = await TurnAllocation.AllocateAsync(mux, coturn.Options(), guard.Token);
        // coturn killed: its end of the connection closes, the bind says why, and a refresh fails as the connection is gone.
        await coturn.DisposeAsync();
        await Eventually.TrueAsync(() => tcp.ClosedBecause is not null, "the bind noticed the closed connection", HangGuard);
        // A FIN ("the server closed the connection") or a reset ("the connection failed: … reset by peer"): the kernel picks.
        Assert.Matches("^(the server closed the connection|the connection failed: .+)$", tcp.ClosedBecause);
        await Assert.ThrowsAnyAsync<Exception>(() => allocation.RefreshAsync(guard.Token));
    }

    private static X509Certificate2 SelfSigned(string name)
    {
        using RSA rsa = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(name);
        request.CertificateExtensions.Add(san.Build());
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
    }

    private static async Task<(byte[] Data, IPEndPoint From)> ReceiveAsync(Socket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[2048];
        SocketReceiveFromResult r = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), cancellationToken);
        return (buffer[..r.ReceivedBytes], (IPEndPoint)r.RemoteEndPoint);
    }
}
