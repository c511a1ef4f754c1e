using System.Net;
using System.Net.Sockets;
using Pinhole.Dtls.Native;

namespace Pinhole.Reliability.Tests.Support;

/// <summary>
/// DTLS half-open sessions: a genuine client (OpenSSL) sends its ClientHello, answers the HelloVerifyRequest with
/// the cookie (proving it receives at its address, so the server creates a session), then falls silent for good.
/// Each uses its own UDP socket on a loopback source address of its choice.
/// </summary>
public sealed class HalfOpenDtls : IDtlsCallbackTarget, IDisposable
{
    private readonly NativeDtlsContext _context;
    private readonly List<Socket> _sockets = [];

    public HalfOpenDtls(NodeIdentity identity) =>
        _context = NativeDtlsContext.Create(Libp2pCertificate.Create(identity, TimeProvider.System));

    public int Opened { get; private set; }

    /// <summary>Opens one half-open session from <paramref name="source"/>; false if the server never sent a cookie.</summary>
    public async Task<bool> OpenAsync(IPAddress source, EndPoint server, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _sockets.Add(socket);
        socket.Bind(new IPEndPoint(source, 0));
        using var session = NativeDtlsSession.Create(_context, 1400);
        session.SetConnectState();
        await socket.SendToAsync(Step(session, null), SocketFlags.None, server, cancellationToken);
        var buffer = new byte[4096];
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        wait.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            var received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), wait.Token);
            var hello = Step(session, buffer.AsSpan(0, received.ReceivedBytes).ToArray());
            if (hello.Length == 0)
            {
                return false;
            }
            await socket.SendToAsync(hello, SocketFlags.None, server, cancellationToken);
            Opened++;
            return true; // and never another byte: the server's flight goes unanswered
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private byte[] Step(NativeDtlsSession session, byte[]? input)
    {
        using var scope = DtlsCallbacks.Enter(this);
        if (input is not null)
        {
            session.FeedDatagram(input);
        }
        session.Handshake(out _);
        var output = new byte[Math.Max(session.PendingOutput, 0)];
        var n = session.ReadOutput(output);
        return output.AsSpan(0, n).ToArray();
    }

    bool IDtlsCallbackTarget.VerifyPeerCertificate(ReadOnlySpan<byte> certificateDer) => false;

    int IDtlsCallbackTarget.GenerateCookie(Span<byte> cookie) => -1;

    bool IDtlsCallbackTarget.VerifyCookie(ReadOnlySpan<byte> cookie) => false;

    uint IDtlsCallbackTarget.NextRetransmitTimeout(uint previousMicroseconds) => 60_000_000; // never retransmit in a test's lifetime

    public void Dispose()
    {
        _sockets.ForEach(s => s.Dispose());
        _context.Dispose();
    }
}
