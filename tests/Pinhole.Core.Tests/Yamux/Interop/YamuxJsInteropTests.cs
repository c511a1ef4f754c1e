using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Pinhole.Transport.Yamux;

namespace Pinhole.Core.Tests.Yamux.Interop;

/// <summary>Our yamux against js-libp2p's (@chainsafe/libp2p-yamux) over TCP on 127.0.0.1.</summary>
public class YamuxJsInteropTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [JsYamuxFact]
    public async Task WeDial_AsYamuxClient()
    {
        await using var peer = await JsYamuxPeer.StartAsync();
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, peer.Port).WaitAsync(Timeout);
        await ExerciseAsync(tcp, isClient: true);
    }

    [JsYamuxFact]
    public async Task JsDials_WeAreYamuxServer()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        await using var peer = await JsYamuxPeer.StartAsync(((IPEndPoint)listener.LocalEndpoint).Port);
        using var tcp = await listener.AcceptTcpClientAsync().WaitAsync(Timeout);
        await ExerciseAsync(tcp, isClient: false);
    }

    private static async Task ExerciseAsync(TcpClient tcp, bool isClient)
    {
        tcp.NoDelay = true;
        var session = new YamuxSession(tcp.GetStream(), isClient, new YamuxSessionOptions(), TimeProvider.System, NullLogger.Instance);
        session.Start();
        try
        {
            // The js side opens a stream of its own, with the other parity.
            var inbound = await session.AcceptStreamAsync(CancellationToken.None).AsTask().WaitAsync(Timeout);
            Assert.Equal(isClient ? 0 : 1, inbound.Id % 2);
            Assert.Equal("hello from js", Encoding.UTF8.GetString(await YamuxTestData.ReadToEndAsync(inbound).WaitAsync(Timeout)));
            await inbound.DisposeAsync();

            // Concurrent streams, each well past the initial window, echoed back intact.
            var echoes = Enumerable.Range(0, 16).Select(i => Task.Run(async () =>
            {
                var payload = YamuxTestData.Pattern(1024 * 1024 + i * 1000, seed: 100 + i);
                await using var stream = await session.OpenStreamAsync(CancellationToken.None);
                Assert.Equal(isClient ? 1 : 0, stream.Id % 2);
                var reading = YamuxTestData.ReadToEndAsync(stream);
                for (var offset = 0; offset < payload.Length; offset += 100_000)
                {
                    await stream.WriteAsync(payload.AsMemory(offset, Math.Min(100_000, payload.Length - offset)));
                }
                stream.CompleteWrites();
                Assert.Equal(payload, await reading);
            })).ToArray();
            await Task.WhenAll(echoes).WaitAsync(Timeout);

            var rtt = await session.PingAsync(CancellationToken.None).WaitAsync(Timeout);
            Assert.True(rtt >= TimeSpan.Zero);
            await Eventually.TrueAsync(() => session.OpenStreamCount == 0, "all streams closed on both sides");
        }
        finally
        {
            await session.CloseAsync().WaitAsync(Timeout);
        }
        await session.Completion.WaitAsync(Timeout);
    }
}
