using Pinhole.Messaging.MessagePack;

namespace Pinhole.Messaging;

/// <summary>
/// Listens for peers and runs a handler for each, with a <see cref="MessageConnection{T}"/> (stalk's
/// <c>listener</c>). The handler's connection is disposed when the handler returns.
/// </summary>
/// <typeparam name="T">The type of messages.</typeparam>
public sealed class MessageListener<T> : IAsyncDisposable
{
    private readonly PeerListener _listener;
    private readonly IMessageCodec<T> _codec;
    private readonly MessageSessionOptions? _sessionOptions;
    private readonly Func<MessageConnection<T>, CancellationToken, Task> _handler;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _acceptLoop;

    internal MessageListener(PeerListener listener, IMessageCodec<T> codec, MessageSessionOptions? sessionOptions, Func<MessageConnection<T>, CancellationToken, Task> handler)
    {
        _listener = listener;
        _codec = codec;
        _sessionOptions = sessionOptions;
        _handler = handler;
        _acceptLoop = AcceptLoopAsync();
    }

    /// <summary>Our PeerId, which dialers pin.</summary>
    public PeerId LocalPeer => _listener.LocalPeer;

    /// <summary>The underlying listener (addresses, counts).</summary>
    public PeerListener Listener => _listener;

    /// <summary>Stops accepting and cancels running handlers.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _listener.DisposeAsync().ConfigureAwait(false);
        try
        {
            await _acceptLoop.ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
        }
        _stopping.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        await Task.Yield();
        while (!_stopping.IsCancellationRequested)
        {
            PeerConnection connection;
            try
            {
                connection = await _listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (PeerException)
            {
                continue;
            }
            _ = RunAsync(connection);
        }
    }

    private async Task RunAsync(PeerConnection connection)
    {
        MessageConnection<T> messages;
        try
        {
            messages = await MessagePeer.StartAsync(connection, _codec, _sessionOptions, _stopping.Token).ConfigureAwait(false);
        }
        catch (Exception)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            return;
        }
        await using (messages.ConfigureAwait(false))
        {
            try
            {
                await _handler(messages, _stopping.Token).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // A failing handler ends its own connection only.
            }
        }
    }
}
