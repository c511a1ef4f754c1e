using System.Net;
using System.Threading.Channels;

namespace Pinhole.Dtls;

/// <summary>
/// Accepts incoming DTLS sessions on a <see cref="DtlsEndpoint"/> (the seed's listen handle). Sessions
/// appear here only after the handshake completed and the peer's PeerId was verified.
/// </summary>
public sealed class DtlsListener : IAsyncDisposable
{
    private readonly DtlsEndpoint _endpoint;
    private readonly Channel<DtlsConnection> _accepted;
    private readonly int _capacity;
    private DtlsEndpoint? _ownedEndpoint;
    private int _disposed;

    internal DtlsListener(DtlsEndpoint endpoint, int capacity)
    {
        _endpoint = endpoint;
        _capacity = capacity;
        _accepted = Channel.CreateBounded<DtlsConnection>(new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.Wait });
    }

    /// <summary>
    /// Creates an endpoint from <paramref name="options"/> and listens on it (the seed's <c>Listen()</c>);
    /// disposing the listener disposes that endpoint. Use <see cref="Endpoint"/> to dial from the same socket.
    /// </summary>
    public static ValueTask<DtlsListener> ListenAsync(DtlsEndpointOptions options, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        DtlsEndpoint endpoint = DtlsEndpoint.Create(options);
        DtlsListener listener = endpoint.Listen();
        listener._ownedEndpoint = endpoint;
        return ValueTask.FromResult(listener);
    }

    /// <summary>The endpoint this listener accepts on.</summary>
    public DtlsEndpoint Endpoint => _endpoint;

    /// <summary>The address peers connect to.</summary>
    public EndPoint LocalEndPoint => _endpoint.LocalEndPoint;

    /// <summary>
    /// Waits for the next established incoming connection; its <see cref="DtlsConnection.RemotePeer"/> is the
    /// verified source PeerId. Throws <see cref="ObjectDisposedException"/> once the listener is disposed.
    /// </summary>
    public async ValueTask<DtlsConnection> AcceptAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await _accepted.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException e)
        {
            throw new ObjectDisposedException(nameof(DtlsListener), e);
        }
    }

    internal bool HasRoom => _accepted.Reader.Count < _capacity;

    internal bool TryEnqueue(DtlsConnection connection) => _accepted.Writer.TryWrite(connection);

    /// <summary>Stops accepting: new ClientHellos are ignored and connections not yet accepted are closed.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _endpoint.StopListening(this);
        _accepted.Writer.TryComplete();
        while (_accepted.Reader.TryRead(out DtlsConnection? pending))
        {
            await pending.CloseAsync().ConfigureAwait(false);
        }
        if (_ownedEndpoint is not null)
        {
            await _ownedEndpoint.DisposeAsync().ConfigureAwait(false);
        }
    }
}
