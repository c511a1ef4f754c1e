using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using Pinhole.Ocapn.Internal;

namespace Pinhole.Ocapn.Tests;

/// <summary>
/// Malformed pre-TLS input from a listener. Each fake keeps its socket open after misbehaving and the dialer's
/// handshake timeout is far beyond the test bound, so a dialer that waited for more input would fail the test.
/// </summary>
public class OcapnPreTlsTests
{
    private static readonly OcapnTcpTlsConnectOptions Patient = new() { HandshakeTimeout = TimeSpan.FromMinutes(10) };

    private static async Task<PeerException> DialFakeAsync(Func<Socket, CancellationToken, Task> behaviour)
    {
        using var cts = new CancellationTokenSource(TestNodes.Bound);
        await using var fake = new FakeListener(behaviour);
        return await Assert.ThrowsAsync<PeerException>(() =>
            OcapnTcpTlsNetlayer.ConnectAsync(fake.Locator(TestNodes.A.Value.Designator), Patient, cts.Token).WaitAsync(cts.Token));
    }

    private static Func<Socket, CancellationToken, Task> SendThenHold(byte[] bytes) => async (s, token) =>
    {
        await s.SendAsync(bytes, SocketFlags.None, token);
        await FakeListener.DrainAsync(s, token);
    };

    private static byte[] Length(uint length)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, length);
        return b;
    }

    [Fact]
    public async Task Huge_length_is_refused_at_once_without_allocating_it()
    {
        var before = GC.GetTotalAllocatedBytes(precise: true);
        var ex = await DialFakeAsync(SendThenHold(Length((uint)Array.MaxLength)));
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        Assert.Equal(PeerError.ProtocolViolation, ex.Error);
        Assert.Contains("over the limit of 65536 bytes", ex.Message, StringComparison.Ordinal);
        // A 2 GiB buffer would show here; other tests running in parallel allocate far less than this.
        Assert.True(allocated < 512L * 1024 * 1024, $"allocated {allocated} bytes");
    }

    [Fact]
    public async Task Length_above_a_configured_limit_is_refused()
    {
        using var cts = new CancellationTokenSource(TestNodes.Bound);
        await using var fake = new FakeListener(SendThenHold(PreTls.Header(TestNodes.A.Value.CertificatePem.Span)));
        var options = new OcapnTcpTlsConnectOptions { MaxCertificatePemLength = 100, HandshakeTimeout = TimeSpan.FromMinutes(10) };
        var ex = await Assert.ThrowsAsync<PeerException>(() => OcapnTcpTlsNetlayer.ConnectAsync(fake.Locator(TestNodes.A.Value.Designator), options, cts.Token));
        Assert.Equal(PeerError.ProtocolViolation, ex.Error);
    }

    [Fact]
    public async Task A_tls_server_that_skips_the_pem_is_recognised()
    {
        var ex = await DialFakeAsync(SendThenHold([0x16, 0x03, 0x03, 0x00, 0x7a]));
        Assert.Equal(PeerError.ProtocolViolation, ex.Error);
        Assert.Contains("looks like a TLS record", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Binary_garbage_is_refused_after_the_first_bytes()
    {
        // Announces 5000 bytes but sends 64 bytes of binary and waits: refused without waiting for the rest.
        var garbage = new byte[64];
        new Random(7).NextBytes(garbage);
        garbage[0] = 0x00;
        var ex = await DialFakeAsync(SendThenHold([.. Length(5000), .. garbage]));
        Assert.Equal(PeerError.ProtocolViolation, ex.Error);
        Assert.Contains("not PEM text", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Short_pem_then_close_is_reported()
    {
        var ex = await DialFakeAsync(async (s, token) =>
        {
            await s.SendAsync((byte[])[.. Length(1000), .. "-----BEGIN CERTIFICATE-----\n"u8.ToArray()], SocketFlags.None, token);
            s.Shutdown(SocketShutdown.Send);
            await FakeListener.DrainAsync(s, token);
        });
        Assert.Equal(PeerError.ConnectionClosed, ex.Error);
        Assert.Contains("after 28 of 1000 certificate bytes", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Short_length_then_close_is_reported()
    {
        var ex = await DialFakeAsync(async (s, token) =>
        {
            await s.SendAsync(new byte[] { 1, 2 }, SocketFlags.None, token);
            s.Shutdown(SocketShutdown.Send);
            await FakeListener.DrainAsync(s, token);
        });
        Assert.Equal(PeerError.ConnectionClosed, ex.Error);
        Assert.Contains("after 2 of the 4 length bytes", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Immediate_close_is_reported()
    {
        var ex = await DialFakeAsync((s, _) =>
        {
            s.Shutdown(SocketShutdown.Both);
            return Task.CompletedTask;
        });
        Assert.Equal(PeerError.ConnectionClosed, ex.Error);
        Assert.Contains("without sending its certificate", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pem_text_without_a_certificate_is_refused_after_the_hash_check()
    {
        var pem = Encoding.ASCII.GetBytes("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
        using var cts = new CancellationTokenSource(TestNodes.Bound);
        await using var fake = new FakeListener(SendThenHold(PreTls.Header(pem)));
        var ex = await Assert.ThrowsAsync<PeerException>(() => OcapnTcpTlsNetlayer.ConnectAsync(fake.Locator(OcapnDesignator.FromPem(pem)), Patient, cts.Token));
        Assert.Equal(PeerError.InvalidCertificate, ex.Error);
        Assert.Contains("no CERTIFICATE block", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pinhole_refusal_carries_its_reason()
    {
        var ex = await DialFakeAsync(async (s, token) =>
        {
            await s.SendAsync(PreTls.Refusal("going away"), SocketFlags.None, token);
            s.Shutdown(SocketShutdown.Send);
            await FakeListener.DrainAsync(s, token);
        });
        Assert.Equal(PeerError.Refused, ex.Error);
        Assert.Contains("refused the connection: going away", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Handshake_timeout_is_a_timeout_error()
    {
        using var cts = new CancellationTokenSource(TestNodes.Bound);
        await using var fake = new FakeListener(async (s, token) => await FakeListener.DrainAsync(s, token));
        var options = new OcapnTcpTlsConnectOptions { HandshakeTimeout = TimeSpan.FromMilliseconds(200) };
        var ex = await Assert.ThrowsAsync<PeerException>(() => OcapnTcpTlsNetlayer.ConnectAsync(fake.Locator(TestNodes.A.Value.Designator), options, cts.Token));
        Assert.Equal(PeerError.Timeout, ex.Error);
    }

    [Fact]
    public async Task Listener_frees_the_slot_of_a_dialer_that_never_does_tls()
    {
        using var cts = new CancellationTokenSource(TestNodes.Bound);
        // As below: the timeout's clock moves only until the garbage dialer is gone, never under the good one.
        var time = Clocks.StartingNow();
        var options = TestNodes.Loopback(TestNodes.A.Value);
        options.MaxConnections = 1;
        options.HandshakeTimeout = TimeSpan.FromSeconds(5);
        options.TimeProvider = time;
        await using var listener = await OcapnTcpTlsNetlayer.ListenAsync(options, cts.Token);
        using (var silent = new Socket(SocketType.Stream, ProtocolType.Tcp))
        {
            await silent.ConnectAsync(listener.LocalEndPoint, cts.Token);
            await silent.SendAsync("GET / HTTP/1.1\r\n\r\n"u8.ToArray(), SocketFlags.None, cts.Token);
            // The garbage fails the TLS handshake (or it times out); either way the listener closes it.
            var closed = FakeListener.DrainAsync(silent, cts.Token);
            while (!closed.IsCompleted)
            {
                time.Advance(TimeSpan.FromSeconds(1));
                await Task.Delay(20, cts.Token);
            }
            await closed;
            while (listener.LiveConnections != 0)
            {
                await Task.Delay(20, cts.Token);
            }
        }
        await using var ok = await OcapnTcpTlsNetlayer.ConnectAsync(listener.Locator, cancellationToken: cts.Token);
        Assert.Equal(TestNodes.A.Value.Designator, ok.RemoteDesignator);
    }

    [Fact]
    public async Task Listener_frees_the_slot_of_a_silent_dialer_at_the_handshake_timeout()
    {
        using var cts = new CancellationTokenSource(TestNodes.Bound);
        // The listener's timeout runs on a fake clock, moved only while the silent dialer holds the slot: the
        // connection that follows must not time out however slow its real handshake is on a busy machine.
        var time = Clocks.StartingNow();
        var options = TestNodes.Loopback(TestNodes.A.Value);
        options.MaxConnections = 1;
        options.HandshakeTimeout = TimeSpan.FromSeconds(5);
        options.TimeProvider = time;
        await using var listener = await OcapnTcpTlsNetlayer.ListenAsync(options, cts.Token);
        using var silent = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await silent.ConnectAsync(listener.LocalEndPoint, cts.Token);
        // It reads the pre-TLS header like a dialer would, then says nothing: the timeout must close it.
        var drained = FakeListener.DrainAsync(silent, cts.Token);
        while (!drained.IsCompleted)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(20, cts.Token);
        }
        Assert.Equal(PreTls.Header(TestNodes.A.Value.CertificatePem.Span).Length, await drained);
        while (listener.LiveConnections != 0)
        {
            await Task.Delay(20, cts.Token);
        }
        await using var ok = await OcapnTcpTlsNetlayer.ConnectAsync(listener.Locator, cancellationToken: cts.Token);
        Assert.Equal(TestNodes.A.Value.Designator, ok.RemoteDesignator);
    }

    [Fact]
    public void Header_layout_is_little_endian_length_then_pem()
    {
        var header = PreTls.Header("abc"u8);
        Assert.Equal(new byte[] { 3, 0, 0, 0, (byte)'a', (byte)'b', (byte)'c' }, header);
        Assert.Equal(new byte[] { 0, 0, 0, 0, (byte)'n', (byte)'o' }, PreTls.Refusal("no"));
        Assert.Equal(PreTls.MaxReasonLength + 4, PreTls.Refusal(new string('x', 1000)).Length);
    }
}
