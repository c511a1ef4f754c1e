using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Pinhole.Core.Tests.Support;
using Pinhole.Transport.Multistream;

namespace Pinhole.Core.Tests.Connections;

/// <summary>
/// The dialer's optimistic <c>/tls/1.0.0</c>: header, proposal and ClientHello leave in one write, and every way the
/// listener can answer ends as the documented <see cref="PeerException"/>, never as TLS's view of it.
/// </summary>
public sealed class OptimisticSecurityTests : IDisposable
{
    private static readonly byte[] Proposal = MultistreamMessage.Encode(MultistreamMessage.Header, "/tls/1.0.0");

    private readonly NodeIdentity _server = NodeIdentity.Generate();
    private readonly NodeIdentity _client = NodeIdentity.Generate();

    public void Dispose()
    {
        _server.Dispose();
        _client.Dispose();
    }

    [Fact]
    public async Task The_first_segment_holds_the_proposal_and_the_whole_ClientHello()
    {
        byte[]? first = null;
        await using var fake = FakeListener.Start(async socket =>
        {
            var buffer = new byte[64 * 1024];
            // One send() of one buffer on loopback arrives as one segment: the first receive returns all of it.
            var n = await socket.ReceiveAsync(buffer, SocketFlags.None, TestNodes.Bounded());
            first = buffer[..n];
            await RefuseAsync(socket, drain: true);
        });
        await Assert.ThrowsAsync<PeerException>(() => DialAsync(fake.Port));
        await fake.Done.WaitAsync(TestNodes.Timeout);
        Assert.NotNull(first);
        Assert.Equal(Proposal, first[..Proposal.Length]);
        var record = first.AsSpan(Proposal.Length);
        Assert.Null(Pinhole.Connections.InboundHandshakeStream.CheckClientHelloRecord(record));
        Assert.Equal(1, record[5]); // handshake type 1: ClientHello
        Assert.Equal(5 + BinaryPrimitives.ReadUInt16BigEndian(record[3..]), record.Length);
    }

    [Fact]
    public async Task Our_listener_accepts_a_ClientHello_in_the_same_write_as_the_proposal()
    {
        await using var listener = await TestNodes.ListenAsync(_server);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(TestNodes.Address(listener).ToIPEndPoint());
        var wire = new WriteLog(new NetworkStream(socket, ownsSocket: false));
        var accept = listener.AcceptAsync(TestNodes.Bounded()).AsTask();
        await using var client = await PeerConnection.UpgradeOutboundAsync(
            wire, _server.PeerId, new PeerConnectionOptions { Identity = _client }, cancellationToken: TestNodes.Bounded());
        await using var server = await accept;
        Assert.Equal(Proposal, wire.Writes[0][..Proposal.Length]);
        Assert.Equal(0x16, wire.Writes[0][Proposal.Length]);

        var inbound = server.AcceptStreamAsync(TestNodes.Bounded()).AsTask();
        await using var stream = await client.OpenStreamAsync("/test/echo/1", optimistic: true, TestNodes.Bounded());
        await stream.WriteAsync("ping"u8.ToArray(), TestNodes.Bounded());
        stream.CompleteWrites();
        await using var accepted = await inbound;
        Assert.Equal("ping"u8.ToArray(), await TestNodes.ReadAllAsync(accepted, TestNodes.Bounded()));
    }

    [Theory]
    [InlineData(false)] // closes at once, with our ClientHello unread: its kernel may answer it with a reset
    [InlineData(true)]  // reads what we sent, then refuses and closes cleanly
    public async Task Na_is_Refused_with_the_listeners_reason_not_a_TLS_error(bool drain)
    {
        await using var fake = FakeListener.Start(async socket =>
        {
            if (drain)
            {
                await socket.ReceiveAsync(new byte[4096], SocketFlags.None, TestNodes.Bounded());
            }
            await RefuseAsync(socket, drain);
        });
        var e = await Assert.ThrowsAsync<PeerException>(() => DialAsync(fake.Port));
        Assert.True(e.Error == PeerError.Refused, e.ToString());
        Assert.Contains("declined /tls/1.0.0", e.Message, StringComparison.Ordinal);
        Assert.Contains("connection limit", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_garbled_echo_is_a_protocol_violation()
    {
        await using var fake = FakeListener.Start(async socket =>
        {
            await socket.ReceiveAsync(new byte[4096], SocketFlags.None, TestNodes.Bounded());
            await socket.SendAsync(MultistreamMessage.Encode(MultistreamMessage.Header, "/tls/9.9.9"), SocketFlags.None);
            await ShutdownAndDrainAsync(socket);
        });
        var e = await Assert.ThrowsAsync<PeerException>(() => DialAsync(fake.Port));
        Assert.True(e.Error == PeerError.ProtocolViolation, e.ToString());
        Assert.Contains("/tls/9.9.9", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_listener_that_closes_before_answering_is_ConnectionClosed()
    {
        await using var fake = FakeListener.Start(async socket =>
        {
            await socket.ReceiveAsync(new byte[4096], SocketFlags.None, TestNodes.Bounded());
            await ShutdownAndDrainAsync(socket);
        });
        var e = await Assert.ThrowsAsync<PeerException>(() => DialAsync(fake.Port));
        Assert.True(e.Error == PeerError.ConnectionClosed, e.ToString());
        Assert.Contains("before answering", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_silent_listener_is_a_Timeout_on_the_configured_clock()
    {
        var clock = Clocks.StartingNow();
        var release = new TaskCompletionSource();
        await using var fake = FakeListener.Start(async socket =>
        {
            await socket.ReceiveAsync(new byte[4096], SocketFlags.None, TestNodes.Bounded());
            await release.Task.WaitAsync(TestNodes.Timeout); // answers nothing, keeps the connection open
        });
        var dial = DialAsync(fake.Port, o =>
        {
            o.TimeProvider = clock;
            o.HandshakeTimeout = TimeSpan.FromSeconds(10);
        });
        // The deadline's timer exists once the dial has started; advancing past it until the dial ends is a hang guard only.
        var guard = System.Diagnostics.Stopwatch.StartNew();
        while (!dial.IsCompleted && guard.Elapsed < TestNodes.Timeout)
        {
            clock.Advance(TimeSpan.FromSeconds(11));
            await Task.WhenAny(dial, Task.Delay(20));
        }
        release.TrySetResult();
        var e = await Assert.ThrowsAsync<PeerException>(() => dial);
        Assert.True(e.Error == PeerError.Timeout, e.ToString());
    }

    private Task<PeerConnection> DialAsync(int port, Action<PeerConnectOptions>? configure = null)
    {
        var options = new PeerConnectOptions
        {
            Identity = _client,
            Remote = new PeerAddress(_server.PeerId, [Multiaddr.Parse($"/ip4/127.0.0.1/tcp/{port}")]),
        };
        configure?.Invoke(options);
        return PeerConnection.ConnectAsync(options, TestNodes.Bounded()).AsTask();
    }

    /// <summary>What a Pinhole listener at its connection limit sends: its header and "na".</summary>
    private static async Task RefuseAsync(Socket socket, bool drain)
    {
        await socket.SendAsync(MultistreamMessage.Encode(MultistreamMessage.Header, MultistreamMessage.NotAvailable), SocketFlags.None);
        if (drain)
        {
            await ShutdownAndDrainAsync(socket);
        }
    }

    private static async Task ShutdownAndDrainAsync(Socket socket)
    {
        socket.Shutdown(SocketShutdown.Send);
        var buffer = new byte[4096];
        while (await socket.ReceiveAsync(buffer, SocketFlags.None, TestNodes.Bounded()) > 0)
        {
        }
    }

    /// <summary>A loopback TCP listener that serves one connection with <c>serve</c>, then closes it.</summary>
    private sealed class FakeListener : IAsyncDisposable
    {
        private readonly Socket _listen;

        private FakeListener(Socket listen, Func<Socket, Task> serve)
        {
            _listen = listen;
            Done = ServeAsync(serve);
        }

        public int Port => ((IPEndPoint)_listen.LocalEndPoint!).Port;

        /// <summary>Ends once the connection was served and closed (faults if serving threw).</summary>
        public Task Done { get; }

        public static FakeListener Start(Func<Socket, Task> serve)
        {
            var listen = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listen.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listen.Listen(1);
            return new FakeListener(listen, serve);
        }

        private async Task ServeAsync(Func<Socket, Task> serve)
        {
            using var socket = await _listen.AcceptAsync(TestNodes.Bounded());
            socket.NoDelay = true;
            try
            {
                await serve(socket);
            }
            catch (SocketException)
            {
                // The dialer gave up first (it read the answer and closed): its side of the test asserts.
            }
        }

        public async ValueTask DisposeAsync()
        {
            _listen.Dispose();
            try
            {
                await Done.WaitAsync(TestNodes.Timeout);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                // Never connected (the dial failed before), or the dialer reset the connection.
            }
        }
    }

    /// <summary>Passes everything through and keeps a copy of each write.</summary>
    private sealed class WriteLog(Stream inner) : Stream
    {
        private readonly List<byte[]> _writes = [];

        public IReadOnlyList<byte[]> Writes
        {
            get
            {
                lock (_writes)
                {
                    return [.. _writes];
                }
            }
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            lock (_writes)
            {
                _writes.Add(buffer.ToArray());
            }
            return inner.WriteAsync(buffer, cancellationToken);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            inner.ReadAsync(buffer, offset, count, cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override bool CanRead => true;

        public override bool CanWrite => true;

        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
