using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using Pinhole.Dtls;
using Pinhole.Messaging;
using Pinhole.Messaging.MessagePack;
using Pinhole.Reliability.Tests.Support;
using Pinhole.Testing;
using Xunit.Abstractions;

namespace Pinhole.Reliability.Tests.Faults;

/// <summary>
/// Faults on a real link (tc netem in namespaces): what each API promises holds. DTLS promises at most once and
/// intact (never duplicated or corrupted; loss is allowed and visible to the application); channels over TCP
/// promise every message once, in order, intact; a peer that vanishes mid-transfer surfaces on every pending
/// operation within the keep-alive timeout.
/// </summary>
[Collection(nameof(Hostile.HostileCollection))]
public sealed class LossyLinkTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Dtls_packets_arrive_at_most_once_and_intact_over_a_lossy_path()
    {
        using var serverId = NodeIdentity.Generate();
        using var clientId = NodeIdentity.Generate();
        using var cts = new CancellationTokenSource(Bound);
        await using var listener = await DtlsListener.ListenAsync(new DtlsEndpointOptions
        {
            Identity = serverId,
            Bind = UdpDatagramBind.Bind(new IPEndPoint(IPAddress.Loopback, 0)),
            HandshakeTimeout = TimeSpan.FromSeconds(60),
        }, cts.Token);
        await using var relay = new ImpairingRelay(listener.LocalEndPoint, seed: 13);
        await using var client = DtlsEndpoint.Create(new DtlsEndpointOptions
        {
            Identity = clientId,
            Bind = UdpDatagramBind.Bind(new IPEndPoint(IPAddress.Loopback, 0)),
            HandshakeTimeout = TimeSpan.FromSeconds(60),
        });
        var accept = listener.AcceptAsync(cts.Token).AsTask();
        await using var connection = await client.ConnectAsync(relay.ClientFacing, serverId.PeerId, cts.Token);
        await using var server = await accept;

        // Paced at 200 packets/s, so the relay's 200 ms of jitter reorders by about 40 packets: within the 64-record
        // replay window of OpenSSL's DTLS (RFC 6347 §4.1.2.6). Reordered further than that, a record is dropped as a
        // possible replay (a burst of 1,500 over the same path delivered 168): loss the application sees, never a duplicate.
        const int Count = 600;
        var seen = new HashSet<int>();
        var duplicates = 0;
        var corrupt = 0;
        var receiving = Task.Run(async () =>
        {
            while (true)
            {
                byte[] packet;
                try
                {
                    using var quiet = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
                    quiet.CancelAfter(TimeSpan.FromSeconds(5)); // nothing for 5 s after the last packet: done
                    packet = await server.ReceiveAsync(quiet.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                var index = BitConverter.ToInt32(packet);
                if (!SHA256.HashData(packet.AsSpan(36)).AsSpan().SequenceEqual(packet.AsSpan(4, 32)))
                {
                    corrupt++;
                }
                else if (!seen.Add(index))
                {
                    duplicates++;
                }
            }
        });
        var random = new Random(7);
        for (var i = 0; i < Count; i++)
        {
            var body = new byte[random.Next(1, connection.MaxPacketSize - 36)];
            random.NextBytes(body);
            await connection.SendAsync((byte[])[.. BitConverter.GetBytes(i), .. SHA256.HashData(body), .. body], cts.Token);
            await Task.Delay(5, cts.Token);
        }
        await receiving;
        output.WriteLine($"DTLS over '{ImpairingRelay.Description}': {seen.Count}/{Count} delivered, {duplicates} duplicates, {corrupt} corrupted, " +
            $"{server.DroppedPackets} dropped by the receive queue; the relay dropped {relay.Dropped} and duplicated {relay.Duplicated}");
        Assert.True(relay.Duplicated > 0 && relay.Dropped > 0, "the relay did not impair anything");
        Assert.Equal(0, duplicates);
        Assert.Equal(0, corrupt);
        Assert.Equal(0, server.DroppedPackets);
        Assert.InRange(seen.Count, Count * 80 / 100, Count); // about 5 % lost; the loss is the application's to see
    }

    [NetnsFact("tc", "nft")]
    [Trait("Category", "Netns")]
    public async Task Channel_messages_arrive_once_in_order_and_intact_over_a_lossy_link()
    {
        await using var link = await LossyLink.CreateAsync();
        using var serverId = NodeIdentity.Generate();
        using var clientId = NodeIdentity.Generate();
        using var cts = new CancellationTokenSource(Bound);
        await using var listener = link.SideB.RunInside(() => PeerListener.ListenAsync(new PeerListenerOptions
        {
            Identity = serverId,
            ListenAddresses = [Multiaddr.Parse($"/ip4/{LossyLink.B}/tcp/0")],
            HandshakeTimeout = TimeSpan.FromSeconds(60),
            FirstByteTimeout = TimeSpan.FromSeconds(60), // the dialer may be JIT-compiling its TLS path on a loaded machine
        }).AsTask().GetAwaiter().GetResult());
        var accept = listener.AcceptAsync(cts.Token).AsTask();
        await using var dialed = await link.ConnectFromAAsync(clientId, serverId.PeerId, listener.ListenAddresses[0].ToIPEndPoint(),
            new PeerConnectOptions { Identity = clientId, HandshakeTimeout = TimeSpan.FromSeconds(60) }, cts.Token);
        await using var accepted = await accept;
        await using var left = MessageSession.Start(dialed);
        await using var right = MessageSession.Start(accepted);

        const int Count = 300;
        var toRight = await left.OpenSenderAsync(MessageCodec.Bytes, cts.Token);
        var toLeft = await right.OpenSenderAsync(MessageCodec.Bytes, cts.Token);
        var atRight = await right.AcceptReceiverAsync(MessageCodec.Bytes, cts.Token);
        var atLeft = await left.AcceptReceiverAsync(MessageCodec.Bytes, cts.Token);
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(
            SendAsync(toRight, 1, Count, cts.Token), SendAsync(toLeft, 2, Count, cts.Token),
            ExpectAsync(atRight, 1, Count, cts.Token), ExpectAsync(atLeft, 2, Count, cts.Token));
        output.WriteLine($"channels over '{link.Impairment}': {Count} messages each way, once, in order, intact, in {watch.Elapsed.TotalSeconds:0.0} s");
    }

    [NetnsFact("tc", "nft", "dotnet")]
    [Trait("Category", "Netns")]
    public async Task A_peer_killed_mid_transfer_fails_every_pending_operation_within_the_keepalive_timeout()
    {
        await using var link = await LossyLink.CreateAsync();
        var dll = typeof(Exhaustion.ChildProgram).Assembly.Location;
        await using var child = link.SideB.Start("dotnet", ["exec", dll, "listen", LossyLink.B.ToString()]);
        var ready = (await child.WaitForLineAsync(l => l.StartsWith("listening ", StringComparison.Ordinal), TimeSpan.FromSeconds(60))).Split(' ');
        var target = new IPEndPoint(LossyLink.B, int.Parse(ready[1], System.Globalization.CultureInfo.InvariantCulture));
        using var identity = NodeIdentity.Generate();
        using var cts = new CancellationTokenSource(Bound);
        var interval = TimeSpan.FromSeconds(1);
        var timeout = TimeSpan.FromSeconds(3);
        // The keep-alive runs on a fake clock the test moves: "within the keep-alive timeout" is then a fact about
        // the clock, not a race against a loaded machine.
        var clock = new WatchedClock();
        var options = new PeerConnectOptions
        {
            Identity = identity, HandshakeTimeout = TimeSpan.FromSeconds(60), KeepAliveInterval = interval, KeepAliveTimeout = timeout,
            IdleTimeout = TimeSpan.FromHours(1), TimeProvider = clock,
        };
        await using var connection = await link.ConnectFromAAsync(identity, PeerId.Parse(ready[2]), target, options, cts.Token);
        var echo = await connection.OpenStreamAsync("/echo/1", cts.Token);
        var writer = await connection.OpenStreamAsync("/echo/1", cts.Token);
        // Mid-transfer: the writer floods (the peer echoes, nobody reads the echo: the windows fill and it blocks).
        var writing = Task.Run(async () =>
        {
            var chunk = new byte[64 * 1024];
            while (true)
            {
                await writer.WriteAsync(chunk, cts.Token);
            }
        });
        var buffer = new byte[16];
        await echo.WriteAsync(buffer.AsMemory(0, 4), cts.Token);
        await echo.ReadExactlyAsync(buffer.AsMemory(0, 4), cts.Token);
        var reading = echo.ReadAsync(buffer, cts.Token).AsTask(); // waits for an echo that never comes
        var acceptingStream = connection.AcceptStreamAsync(cts.Token).AsTask();

        // The peer vanishes: no FIN, no RST reaches us (the link drops everything), then its process dies.
        await link.CutAsync();
        child.Kill();
        var pending = new Task[] { writing, reading, acceptingStream, connection.Completion };
        // One keep-alive interval: the ping goes out (into the dead link) and its timeout is armed.
        var armed = clock.CountArmed(timeout);
        clock.Advance(interval);
        await clock.WaitForTimerAsync(timeout, armed);
        clock.Advance(timeout - TimeSpan.FromMilliseconds(1));
        Assert.DoesNotContain(pending, t => t.IsCompleted); // nothing else can end them: no FIN or RST gets through
        clock.Advance(TimeSpan.FromMilliseconds(1));
        await Task.WhenAll(pending.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default))).WaitAsync(Bound);
        foreach (var task in pending)
        {
            var error = Assert.IsAssignableFrom<PeerException>(task.Exception?.InnerException);
            Assert.True(error.Error is PeerError.ConnectionClosed or PeerError.Timeout, error.ToString());
        }
        var openAfter = await Assert.ThrowsAsync<PeerException>(async () => await connection.OpenStreamAsync("/echo/1", cts.Token));
        Assert.Equal(PeerError.ConnectionClosed, openAfter.Error);
        output.WriteLine($"peer killed behind a dead link: every pending operation failed once the clock passed keep-alive interval {interval.TotalSeconds} s + timeout {timeout.TotalSeconds} s");
    }

    private static async Task SendAsync(Sender<byte[]?> sender, int seed, int count, CancellationToken cancellationToken)
    {
        var random = new Random(seed);
        for (var i = 0; i < count; i++)
        {
            await sender.WriteAsync(Message(random, i), cancellationToken);
        }
        sender.Complete();
        await sender.Closed.WaitAsync(cancellationToken);
    }

    private static async Task ExpectAsync(Receiver<byte[]?> receiver, int seed, int count, CancellationToken cancellationToken)
    {
        var random = new Random(seed);
        var next = 0;
        await foreach (var message in receiver.WithCancellation(cancellationToken))
        {
            Assert.Equal(Message(random, next), message);
            next++;
        }
        Assert.Equal(count, next);
    }

    private static byte[] Message(Random random, int index)
    {
        var message = new byte[4 + random.Next(8 * 1024)];
        random.NextBytes(message);
        BitConverter.TryWriteBytes(message, index);
        return message;
    }
}
