using System.Net;

namespace Pinhole.Dtls.Tests;

/// <summary>Two endpoints, a server that listens and a client, on any bind.</summary>
internal sealed class Pair : IAsyncDisposable
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    public required NodeIdentity ServerIdentity { get; init; }
    public required NodeIdentity ClientIdentity { get; init; }
    public required DtlsEndpoint Server { get; init; }
    public required DtlsEndpoint Client { get; init; }
    public required DtlsListener Listener { get; init; }

    public static Pair Create(IDatagramBind serverBind, IDatagramBind clientBind, Action<DtlsEndpointOptions>? configure = null,
        NodeIdentity? serverIdentity = null, NodeIdentity? clientIdentity = null)
    {
        serverIdentity ??= NodeIdentity.Generate();
        clientIdentity ??= NodeIdentity.Generate();
        var serverOptions = new DtlsEndpointOptions { Identity = serverIdentity, Bind = serverBind };
        var clientOptions = new DtlsEndpointOptions { Identity = clientIdentity, Bind = clientBind };
        configure?.Invoke(serverOptions);
        configure?.Invoke(clientOptions);
        DtlsEndpoint server = DtlsEndpoint.Create(serverOptions);
        DtlsEndpoint client = DtlsEndpoint.Create(clientOptions);
        return new Pair
        {
            ServerIdentity = serverIdentity,
            ClientIdentity = clientIdentity,
            Server = server,
            Client = client,
            Listener = server.Listen(),
        };
    }

    public static Pair Udp(IPAddress address, Action<DtlsEndpointOptions>? configure = null)
        => Create(UdpDatagramBind.Bind(new IPEndPoint(address, 0)), UdpDatagramBind.Bind(new IPEndPoint(address, 0)), configure);

    public async Task<(DtlsConnection Client, DtlsConnection Server)> ConnectAsync()
    {
        using var cts = new CancellationTokenSource(Patience);
        Task<DtlsConnection> accept = Listener.AcceptAsync(cts.Token).AsTask();
        DtlsConnection client = await Client.ConnectAsync(Server.LocalEndPoint, ServerIdentity.PeerId, cts.Token);
        DtlsConnection server = await accept.WaitAsync(cts.Token);
        return (client, server);
    }

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        await Server.DisposeAsync();
        ServerIdentity.Dispose();
        ClientIdentity.Dispose();
    }
}
