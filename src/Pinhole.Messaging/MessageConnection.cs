using System.Threading.Channels;

namespace Pinhole.Messaging;

/// <summary>
/// The simple message API (in the spirit of stalk): one ordered channel each way between two authenticated
/// peers. Connect (<see cref="MessagePeer"/>), <see cref="SendAsync"/>, <see cref="FlushAsync"/>, <see cref="ReceiveAsync"/>.
/// </summary>
/// <example>
/// <code>
/// await using var chat = await MessagePeer.ConnectAsync(
///     new PeerConnectOptions { Identity = me, Remote = PeerAddress.Parse(address) }, MessageCodec.String!);
/// await chat.SendAsync("hello");
/// await chat.FlushAsync();
/// string? reply = await chat.ReceiveAsync();
/// </code>
/// </example>
/// <typeparam name="T">The type of messages.</typeparam>
public sealed class MessageConnection<T> : IAsyncDisposable
{
    internal MessageConnection(MessageSession session, Sender<T> sender, Receiver<T> receiver)
    {
        Session = session;
        Sender = sender;
        Receiver = receiver;
    }

    /// <summary>The verified peer.</summary>
    public PeerId RemotePeer => Session.RemotePeer;

    /// <summary>The session, for opening more channels.</summary>
    public MessageSession Session { get; }

    /// <summary>Our channel to the peer.</summary>
    public Sender<T> Sender { get; }

    /// <summary>The peer's channel to us.</summary>
    public Receiver<T> Receiver { get; }

    /// <summary>Queues a message; waits only while the peer is too far behind (back-pressure).</summary>
    public ValueTask SendAsync(T message, CancellationToken cancellationToken = default) => Sender.WriteAsync(message, cancellationToken);

    /// <summary>Waits until everything sent so far has been handed to the connection.</summary>
    public ValueTask FlushAsync(CancellationToken cancellationToken = default) => Sender.FlushAsync(cancellationToken);

    /// <summary>The next message from the peer.</summary>
    /// <exception cref="ChannelClosedException">The peer closed its side; no more messages.</exception>
    public ValueTask<T> ReceiveAsync(CancellationToken cancellationToken = default) => Receiver.ReadAsync(cancellationToken);

    /// <summary>All messages from the peer until it closes its side.</summary>
    public IAsyncEnumerable<T> ReceiveAllAsync(CancellationToken cancellationToken = default) => Receiver.ReadAllAsync(cancellationToken);

    /// <summary>Closes our side gracefully (what was sent is delivered first, for up to 5 s), then the connection.</summary>
    public async ValueTask DisposeAsync()
    {
        Sender.TryComplete();
        try
        {
            await Sender.Closed.WaitAsync(TimeSpan.FromSeconds(5), Session.Options.TimeProvider).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or TimeoutException or ChannelClosedException or OperationCanceledException)
        {
        }
        await Receiver.DisposeAsync().ConfigureAwait(false);
        await Session.DisposeAsync().ConfigureAwait(false);
    }
}
