using Pinhole.Messaging.MessagePack;

namespace Pinhole.Messaging;

/// <summary>
/// Entry points of the simple message API: <see cref="ListenAsync{T}(PeerListenerOptions, IMessageCodec{T}, Func{MessageConnection{T}, CancellationToken, Task}, MessageSessionOptions?, CancellationToken)"/> with a handler, <see cref="ConnectAsync{T}(PeerConnectOptions, IMessageCodec{T}, MessageSessionOptions?, CancellationToken)"/>
/// to a peer pinned by its PeerId, or <see cref="StartAsync"/> on a connection you already have.
/// </summary>
public static class MessagePeer
{
    /// <summary>
    /// Connects to the peer named by <paramref name="options"/>' Remote address. The peer is authenticated by
    /// its PeerId; an address without one is refused unless <see cref="PeerConnectOptions.TrustOnFirstUse"/> is set.
    /// </summary>
    public static async Task<MessageConnection<T>> ConnectAsync<T>(PeerConnectOptions options, IMessageCodec<T> codec, MessageSessionOptions? sessionOptions = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(codec);
        var connection = await PeerConnection.ConnectAsync(options, cancellationToken).ConfigureAwait(false);
        return await StartAsync(connection, codec, sessionOptions, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Connects to a peer with messages of a <c>[GenerateShape]</c> type (<see cref="MessageCodec.Shaped{T}()"/>).</summary>
    public static Task<MessageConnection<T>> ConnectAsync<T>(PeerConnectOptions options, MessageSessionOptions? sessionOptions = null, CancellationToken cancellationToken = default)
        where T : PolyType.IShapeable<T> => ConnectAsync(options, MessageCodec.Shaped<T>(), sessionOptions, cancellationToken);

    /// <summary>Listens for peers exchanging messages of a <c>[GenerateShape]</c> type (<see cref="MessageCodec.Shaped{T}()"/>).</summary>
    public static Task<MessageListener<T>> ListenAsync<T>(
        PeerListenerOptions options,
        Func<MessageConnection<T>, CancellationToken, Task> handler,
        MessageSessionOptions? sessionOptions = null,
        CancellationToken cancellationToken = default)
        where T : PolyType.IShapeable<T> => ListenAsync(options, MessageCodec.Shaped<T>(), handler, sessionOptions, cancellationToken);

    /// <summary>Starts the message API on an established connection (both peers must call it); takes ownership of the connection.</summary>
    public static async Task<MessageConnection<T>> StartAsync<T>(PeerConnection connection, IMessageCodec<T> codec, MessageSessionOptions? sessionOptions = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(codec);
        var session = MessageSession.Start(connection, sessionOptions, ownsConnection: true);
        try
        {
            var sender = await session.OpenSenderAsync(codec, cancellationToken).ConfigureAwait(false);
            var receiver = await session.AcceptReceiverAsync(codec, cancellationToken).ConfigureAwait(false);
            return new MessageConnection<T>(session, sender, receiver);
        }
        catch
        {
            await session.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Starts listening; <paramref name="handler"/> runs once per connected peer, concurrently.</summary>
    public static async Task<MessageListener<T>> ListenAsync<T>(
        PeerListenerOptions options,
        IMessageCodec<T> codec,
        Func<MessageConnection<T>, CancellationToken, Task> handler,
        MessageSessionOptions? sessionOptions = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(codec);
        ArgumentNullException.ThrowIfNull(handler);
        var listener = await PeerListener.ListenAsync(options, cancellationToken).ConfigureAwait(false);
        return new MessageListener<T>(listener, codec, sessionOptions, handler);
    }
}
