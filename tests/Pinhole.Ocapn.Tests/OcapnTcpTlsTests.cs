using System.Text;
using Pinhole.Ocapn.Internal;
using Pinhole.Ocapn.Syrup;

namespace Pinhole.Ocapn.Tests;

public class OcapnTcpTlsTests
{
    private static async Task<string> EchoOnceAsync(OcapnTcpTlsConnection server, CancellationToken token)
    {
        var buffer = new byte[256];
        var n = await server.Stream.ReadAsync(buffer, token);
        var text = Encoding.UTF8.GetString(buffer, 0, n);
        await server.Stream.WriteAsync(Encoding.UTF8.GetBytes("echo:" + text), token);
        await server.Stream.FlushAsync(token);
        return text;
    }

    private static async Task<string> SendAndReceiveAsync(OcapnTcpTlsConnection client, string text, CancellationToken token)
    {
        await client.Stream.WriteAsync(Encoding.UTF8.GetBytes(text), token);
        await client.Stream.FlushAsync(token);
        var buffer = new byte[256];
        var n = await client.Stream.ReadAsync(buffer, token);
        return Encoding.UTF8.GetString(buffer, 0, n);
    }

    [Fact]
    public async Task Two_pinhole_nodes_round_trip_and_the_dialer_stays_anonymous_by_default()
    {
        using var cts = new CancellationTokenSource(TestNodes.Bound);
        await using var listener = await OcapnTcpTlsNetlayer.ListenAsync(TestNodes.Loopback(TestNodes.A.Value), cts.Token);
        Assert.Equal(TestNodes.A.Value.Designator, listener.Locator.Designator);
        Assert.Equal("127.0.0.1", listener.Locator.Host);
        Assert.Equal(listener.LocalEndPoint.Port, listener.Locator.Port);

        var accept = listener.AcceptAsync(cts.Token).AsTask();
        await using var client = await OcapnTcpTlsNetlayer.ConnectAsync(OcapnLocator.Parse(listener.Locator.ToString()),
            new OcapnTcpTlsConnectOptions { Node = TestNodes.B.Value }, cts.Token);
        await using var server = await accept;

        var echo = SendAndReceiveAsync(client, "hello", cts.Token);
        Assert.Equal("hello", await EchoOnceAsync(server, cts.Token));
        Assert.Equal("echo:hello", await echo);

        Assert.Equal(TestNodes.A.Value.Designator, client.RemoteDesignator);
        Assert.False(client.PresentedCertificate);
        Assert.False(server.IsRemoteAuthenticated);
        Assert.Null(server.RemoteDesignator);
        Assert.True(server.IsInbound);
    }

    [Theory]
    [InlineData(OcapnClientAuthentication.Optional)]
    [InlineData(OcapnClientAuthentication.Required)]
    public async Task A_listener_that_asks_learns_the_dialers_designator(OcapnClientAuthentication mode)
    {
        using var cts = new CancellationTokenSource(TestNodes.Bound);
        var options = TestNodes.Loopback(TestNodes.A.Value);
        options.ClientAuthentication = mode;
        await using var listener = await OcapnTcpTlsNetlayer.ListenAsync(options, cts.Token);
        var accept = listener.AcceptAsync(cts.Token).AsTask();
        await using var client = await OcapnTcpTlsNetlayer.ConnectAsync(listener.Locator, new OcapnTcpTlsConnectOptions { Node = TestNodes.B.Value }, cts.Token);
        await using var server = await accept;
        var echo = SendAndReceiveAsync(client, "who am i", cts.Token);
        await EchoOnceAsync(server, cts.Token);
        await echo;
        Assert.Equal(TestNodes.B.Value.Designator, server.RemoteDesignator);
        Assert.Equal(new OcapnLocator(TestNodes.B.Value.Designator, "tcp-tls"), server.RemoteLocator);
        Assert.True(client.PresentedCertificate);
    }

    [Fact]
    public async Task Optional_client_authentication_still_accepts_anonymous_dialers()
    {
        using var cts = new CancellationTokenSource(TestNodes.Bound);
        var options = TestNodes.Loopback(TestNodes.A.Value);
        options.ClientAuthentication = OcapnClientAuthentication.Optional;
        await using var listener = await OcapnTcpTlsNetlayer.ListenAsync(options, cts.Token);
        var accept = listener.AcceptAsync(cts.Token).AsTask();
        await using var client = await OcapnTcpTlsNetlayer.ConnectAsync(listener.Locator, cancellationToken: cts.Token);
        await using var server = await accept;
        var echo = SendAndReceiveAsync(client, "anon", cts.Token);
        await EchoOnceAsync(server, cts.Token);
        Assert.Equal("echo:anon", await echo);
        Assert.Null(server.RemoteDesignator);
        Assert.False(client.PresentedCertificate);
    }

    [Fact]
    public async Task Required_client_authentication_refuses_anonymous_dialers()
    {
        using var cts = new CancellationTokenSource(TestNodes.Bound);
        var options = TestNodes.Loopback(TestNodes.A.Value);
        options.ClientAuthentication = OcapnClientAuthentication.Required;
        await using var listener = await OcapnTcpTlsNetlayer.ListenAsync(options, cts.Token);
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            // With TLS 1.3 the client may finish its handshake before the server rejects it; the rejection shows on read.
            await using var client = await OcapnTcpTlsNetlayer.ConnectAsync(listener.Locator, cancellationToken: cts.Token);
            await client.Stream.WriteAsync("x"u8.ToArray(), cts.Token);
            var n = await client.Stream.ReadAsync(new byte[16], cts.Token);
            if (n == 0)
            {
                throw new EndOfStreamException();
            }
        });
    }

    [Fact]
    public async Task Wrong_designator_is_refused_before_the_dialer_sends_a_single_byte()
    {
        using var cts = new CancellationTokenSource(TestNodes.Bound);
        var received = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var header = PreTls.Header(TestNodes.A.Value.CertificatePem.Span);
        await using var fake = new FakeListener(async (s, token) =>
        {
            await s.SendAsync(header, System.Net.Sockets.SocketFlags.None, token);
            received.TrySetResult(await FakeListener.DrainAsync(s, cts.Token));
        });
        var wanted = TestNodes.B.Value.Designator;
        var ex = await Assert.ThrowsAsync<PeerException>(() => OcapnTcpTlsNetlayer.ConnectAsync(fake.Locator(wanted), cancellationToken: cts.Token));
        Assert.Equal(PeerError.PeerMismatch, ex.Error);
        Assert.Contains(wanted, ex.Message, StringComparison.Ordinal);
        Assert.Contains(TestNodes.A.Value.Designator, ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, await received.Task.WaitAsync(cts.Token));
    }

    [Fact]
    public async Task Wrong_designator_against_a_pinhole_listener_yields_no_connection()
    {
        using var cts = new CancellationTokenSource(TestNodes.Bound);
        await using var listener = await OcapnTcpTlsNetlayer.ListenAsync(TestNodes.Loopback(TestNodes.A.Value), cts.Token);
        var wrong = listener.Locator.WithHints(listener.Locator.Hints);
        var locator = OcapnLocator.ForTcpTls(TestNodes.B.Value.Designator, "127.0.0.1", listener.LocalEndPoint.Port);
        var ex = await Assert.ThrowsAsync<PeerException>(() => OcapnTcpTlsNetlayer.ConnectAsync(locator, cancellationToken: cts.Token));
        Assert.Equal(PeerError.PeerMismatch, ex.Error);
        // The right designator still works afterwards, and it is the first connection the listener hands out.
        var accept = listener.AcceptAsync(cts.Token).AsTask();
        await using var ok = await OcapnTcpTlsNetlayer.ConnectAsync(wrong, cancellationToken: cts.Token);
        await using var server = await accept;
        Assert.Equal(ok.LocalEndPoint, server.RemoteEndPoint);
    }

    [Fact]
    public async Task A_listener_whose_tls_key_differs_from_the_pem_it_sent_is_refused()
    {
        using var cts = new CancellationTokenSource(TestNodes.Bound);
        // Sends A's PEM (matching the designator) but would do TLS as B: the pin must catch it.
        var options = TestNodes.Loopback(TestNodes.B.Value);
        await using var listenerB = await OcapnTcpTlsNetlayer.ListenAsync(options, cts.Token);
        var header = PreTls.Header(TestNodes.A.Value.CertificatePem.Span);
        await using var fake = new FakeListener(async (s, token) =>
        {
            // Relay: our own pre-TLS header, then splice to B's listener minus B's header.
            using var upstream = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
            await upstream.ConnectAsync(listenerB.LocalEndPoint, token);
            var skip = new byte[PreTls.Header(TestNodes.B.Value.CertificatePem.Span).Length];
            await ReadExactlyAsync(upstream, skip, token);
            await s.SendAsync(header, System.Net.Sockets.SocketFlags.None, token);
            using var a = new System.Net.Sockets.NetworkStream(s, false);
            using var b = new System.Net.Sockets.NetworkStream(upstream, false);
            await Task.WhenAny(a.CopyToAsync(b, token), b.CopyToAsync(a, token));
        });
        var ex = await Assert.ThrowsAsync<PeerException>(() => OcapnTcpTlsNetlayer.ConnectAsync(fake.Locator(TestNodes.A.Value.Designator), cancellationToken: cts.Token));
        Assert.Equal(PeerError.PeerMismatch, ex.Error);
        Assert.Contains("not the one whose PEM was sent before TLS", ex.Message, StringComparison.Ordinal);
    }

    private static async Task ReadExactlyAsync(System.Net.Sockets.Socket s, byte[] buffer, CancellationToken token)
    {
        var got = 0;
        while (got < buffer.Length)
        {
            var n = await s.ReceiveAsync(buffer.AsMemory(got), System.Net.Sockets.SocketFlags.None, token);
            if (n == 0)
            {
                throw new EndOfStreamException();
            }
            got += n;
        }
    }

    [Fact]
    public async Task Connection_cap_refuses_with_a_reason_and_frees_slots_on_dispose()
    {
        using var cts = new CancellationTokenSource(TestNodes.Bound);
        var options = TestNodes.Loopback(TestNodes.A.Value);
        options.MaxConnections = 2;
        await using var listener = await OcapnTcpTlsNetlayer.ListenAsync(options, cts.Token);
        await using var c1 = await OcapnTcpTlsNetlayer.ConnectAsync(listener.Locator, cancellationToken: cts.Token);
        await using var c2 = await OcapnTcpTlsNetlayer.ConnectAsync(listener.Locator, cancellationToken: cts.Token);
        // Connections count once the listener's side of TLS is done too (a moment after the dialer's).
        while (listener.LiveConnections < 2)
        {
            await Task.Delay(10, cts.Token);
        }

        var ex = await Assert.ThrowsAsync<PeerException>(() => OcapnTcpTlsNetlayer.ConnectAsync(listener.Locator, cancellationToken: cts.Token));
        Assert.Equal(PeerError.Refused, ex.Error);
        Assert.Contains("connection limit reached (max-connections 2)", ex.Message, StringComparison.Ordinal);
        Assert.Equal(2, listener.LiveConnections);

        // Queued connections count until the application accepts and disposes them.
        var s1 = await listener.AcceptAsync(cts.Token);
        await s1.DisposeAsync();
        Assert.Equal(1, listener.LiveConnections);
        await using var c3 = await OcapnTcpTlsNetlayer.ConnectAsync(listener.Locator, cancellationToken: cts.Token);
        Assert.Equal(TestNodes.A.Value.Designator, c3.RemoteDesignator);
    }

    [Fact]
    public async Task Ping_proves_designator_and_tls()
    {
        using var cts = new CancellationTokenSource(TestNodes.Bound);
        await using var listener = await OcapnTcpTlsNetlayer.ListenAsync(TestNodes.Loopback(TestNodes.A.Value), cts.Token);
        var result = await OcapnTcpTlsNetlayer.PingAsync(listener.Locator, cancellationToken: cts.Token);
        Assert.Equal(TestNodes.A.Value.Designator, result.Designator);
        Assert.Equal("ECDSA", result.KeyAlgorithm);
        Assert.Contains("CN=CapTP", result.CertificateSubject, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sturdyref_dials_its_node()
    {
        using var cts = new CancellationTokenSource(TestNodes.Bound);
        await using var listener = await OcapnTcpTlsNetlayer.ListenAsync(TestNodes.Loopback(TestNodes.A.Value), cts.Token);
        var sref = new OcapnSturdyRef(listener.Locator, [1, 2, 3, 4]);
        await using var c = await OcapnTcpTlsNetlayer.ConnectAsync(OcapnSturdyRef.Parse(sref.ToString()), cancellationToken: cts.Token);
        Assert.Equal(listener.Locator, c.RemoteLocator);
    }

    [Fact]
    public async Task Rsa_nodes_work_as_listener_and_as_authenticated_dialer()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var (certPem, keyPem) = TestNodes.GoblinsStyleRsa();
        using var rsaNode = OcapnNode.FromPem(certPem, keyPem);
        Assert.Equal(OcapnDesignator.FromPem(Encoding.ASCII.GetBytes(certPem)), rsaNode.Designator);
        var options = TestNodes.Loopback(rsaNode);
        options.ClientAuthentication = OcapnClientAuthentication.Optional;
        await using var listener = await OcapnTcpTlsNetlayer.ListenAsync(options, cts.Token);
        var accept = listener.AcceptAsync(cts.Token).AsTask();
        var (dialerCert, dialerKey) = TestNodes.GoblinsStyleRsa();
        using var rsaDialer = OcapnNode.FromPem(dialerCert, dialerKey);
        await using var client = await OcapnTcpTlsNetlayer.ConnectAsync(listener.Locator, new OcapnTcpTlsConnectOptions { Node = rsaDialer }, cts.Token);
        await using var server = await accept;
        var echo = SendAndReceiveAsync(client, "rsa", cts.Token);
        await EchoOnceAsync(server, cts.Token);
        Assert.Equal("echo:rsa", await echo);
        Assert.Equal(rsaDialer.Designator, server.RemoteDesignator);
        var ping = await OcapnTcpTlsNetlayer.PingAsync(listener.Locator, cancellationToken: cts.Token);
        Assert.Equal("RSA-2048", ping.KeyAlgorithm);
    }

    [Fact]
    public async Task Syrup_messages_flow_over_the_connection()
    {
        using var cts = new CancellationTokenSource(TestNodes.Bound);
        await using var listener = await OcapnTcpTlsNetlayer.ListenAsync(TestNodes.Loopback(TestNodes.A.Value), cts.Token);
        var accept = listener.AcceptAsync(cts.Token).AsTask();
        await using var client = await OcapnTcpTlsNetlayer.ConnectAsync(listener.Locator, cancellationToken: cts.Token);
        await using var server = await accept;
        // A CapTP-shaped greeting: <op:start-session captp-version session-pubkey location location-sig>.
        var messages = new SyrupValue[]
        {
            new SyrupRecord(new SyrupSymbol("op:start-session"), "1.0", new SyrupBytes(new byte[32]), TestNodes.A.Value.GetLocator("127.0.0.1", 1).ToSyrup(), false),
            new SyrupRecord(new SyrupSymbol("op:abort"), "bye"),
        };
        foreach (var m in messages)
        {
            await client.Stream.WriteAsync(m.Encode(), cts.Token);
        }
        await client.Stream.FlushAsync(cts.Token);
        using var reader = new SyrupStreamReader(server.Stream, leaveOpen: true);
        Assert.Equal(messages[0], await reader.ReadAsync(cts.Token));
        Assert.Equal(messages[1], await reader.ReadAsync(cts.Token));
        Assert.Equal(TestNodes.A.Value.Designator, OcapnLocator.FromSyrup(((SyrupRecord)messages[0]).Fields[2]).Designator);
    }

    [Fact]
    public async Task Ipv6_loopback_listener_is_reachable_by_its_locator()
    {
        if (!System.Net.Sockets.Socket.OSSupportsIPv6)
        {
            return;
        }
        using var cts = new CancellationTokenSource(TestNodes.Bound);
        var options = TestNodes.Loopback(TestNodes.A.Value);
        options.ListenEndPoint = new System.Net.IPEndPoint(System.Net.IPAddress.IPv6Loopback, 0);
        OcapnTcpTlsListener listener;
        try
        {
            listener = await OcapnTcpTlsNetlayer.ListenAsync(options, cts.Token);
        }
        catch (PeerException)
        {
            return; // IPv6 loopback not configured on this machine.
        }
        await using (listener)
        {
            Assert.Equal("::1", listener.Locator.Host);
            var text = listener.Locator.ToString();
            Assert.Contains("host=%3A%3A1", text, StringComparison.Ordinal);
            await using var c = await OcapnTcpTlsNetlayer.ConnectAsync(OcapnLocator.Parse(text), cancellationToken: cts.Token);
            Assert.Equal(TestNodes.A.Value.Designator, c.RemoteDesignator);
        }
    }
}
