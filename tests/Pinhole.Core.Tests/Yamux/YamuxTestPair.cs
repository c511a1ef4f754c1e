using Microsoft.Extensions.Logging.Abstractions;
using Pinhole.Transport.Yamux;

namespace Pinhole.Core.Tests.Yamux;

/// <summary>A client and a server session over an in-memory connection.</summary>
internal sealed class YamuxTestPair : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private YamuxTestPair(YamuxSession client, YamuxSession server, DuplexPipeStream clientTransport, DuplexPipeStream serverTransport)
    {
        Client = client;
        Server = server;
        ClientTransport = clientTransport;
        ServerTransport = serverTransport;
    }

    public YamuxSession Client { get; }
    public YamuxSession Server { get; }
    public DuplexPipeStream ClientTransport { get; }
    public DuplexPipeStream ServerTransport { get; }

    public static YamuxTestPair Start(YamuxSessionOptions? clientOptions = null, YamuxSessionOptions? serverOptions = null, TimeProvider? time = null)
    {
        var (left, right) = DuplexPipeStream.CreatePair();
        time ??= TimeProvider.System;
        var client = new YamuxSession(left, isClient: true, clientOptions ?? new YamuxSessionOptions(), time, NullLogger.Instance);
        var server = new YamuxSession(right, isClient: false, serverOptions ?? new YamuxSessionOptions(), time, NullLogger.Instance);
        client.Start();
        server.Start();
        return new YamuxTestPair(client, server, left, right);
    }

    /// <summary>Opens a stream on <paramref name="opener"/> and accepts it on the other side.</summary>
    public async Task<(YamuxStream Opened, YamuxStream Accepted)> OpenAsync(YamuxSession opener)
    {
        var acceptor = opener == Client ? Server : Client;
        var opened = await opener.OpenStreamAsync(CancellationToken.None).AsTask().WaitAsync(Timeout);
        var accepted = await acceptor.AcceptStreamAsync(CancellationToken.None).AsTask().WaitAsync(Timeout);
        return (opened, accepted);
    }

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync().AsTask().WaitAsync(Timeout);
        await Server.DisposeAsync().AsTask().WaitAsync(Timeout);
    }
}
