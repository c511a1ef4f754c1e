using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Pinhole.Messaging.Internal;
using Pinhole.Messaging.MessagePack;

namespace Pinhole.Messaging;

/// <summary>
/// Typed message channels over one authenticated <see cref="PeerConnection"/>. Every channel, and every
/// channel or byte stream attached to a message, is its own stream of the connection (protocol
/// <see cref="Protocol"/>), so channels are ordered independently and flow-controlled end to end.
/// The session takes over the connection's inbound streams (<see cref="PeerConnection.AcceptStreamAsync"/>);
/// streams of other protocols are reset.
/// </summary>
/// <remarks>
/// Lifetimes: a channel lives until it is closed itself or the connection is lost; closing the channel a
/// Sender or Receiver was sent on does not close it. When the connection is lost every pending and later
/// operation of every channel fails with a <see cref="PeerException"/>.
/// </remarks>
public sealed class MessageSession : IAsyncDisposable
{
    /// <summary>The protocol id of channel streams.</summary>
    public const string Protocol = "/pinhole/chan/1.0.0";

    private readonly Channel<PeerStream> _topLevel;
    private readonly Dictionary<ulong, Attachment> _pending = [];
    private readonly CancellationTokenSource _closing = new();
    private readonly CancellationToken _closingToken; // read after dispose too: the source's Token getter would throw
    private readonly bool _ownsConnection;
    private int _disposed;
    private readonly Task _acceptLoop;
    private long _nextId;
    private Exception? _failure;

    private MessageSession(PeerConnection connection, MessageSessionOptions options, bool ownsConnection)
    {
        Connection = connection;
        Options = options;
        _ownsConnection = ownsConnection;
        Logger = options.LoggerFactory.CreateLogger<MessageSession>();
        _closingToken = _closing.Token;
        _topLevel = Channel.CreateBounded<PeerStream>(new BoundedChannelOptions(options.MaxPendingChannels) { FullMode = BoundedChannelFullMode.Wait });
        _acceptLoop = AcceptLoopAsync();
    }

    /// <summary>The connection the channels run over.</summary>
    public PeerConnection Connection { get; }

    /// <summary>The verified peer.</summary>
    public PeerId RemotePeer => Connection.RemotePeer;

    /// <summary>The limits in force.</summary>
    public MessageSessionOptions Options { get; }

    /// <summary>Completes when the connection is gone and the session stopped accepting streams.</summary>
    public Task Completion => _acceptLoop;

    /// <summary>
    /// Starts channels over <paramref name="connection"/>. The connection must accept <see cref="Protocol"/>
    /// (its options' Protocols empty, or containing it).
    /// </summary>
    /// <param name="connection">An authenticated connection.</param>
    /// <param name="options">Limits; defaults when null.</param>
    /// <param name="ownsConnection">Dispose the connection with the session.</param>
    public static MessageSession Start(PeerConnection connection, MessageSessionOptions? options = null, bool ownsConnection = false)
    {
        ArgumentNullException.ThrowIfNull(connection);
        options ??= new MessageSessionOptions();
        options.Validate();
        return new MessageSession(connection, options, ownsConnection);
    }

    /// <summary>Opens a new channel to the peer; the peer gets its Receiver from <see cref="AcceptReceiverAsync{T}(IMessageCodec{T}, CancellationToken)"/>.</summary>
    public async ValueTask<Sender<T>> OpenSenderAsync<T>(IMessageCodec<T> codec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(codec);
        var stream = await OpenStreamAsync(StreamHeader.TopLevel, 0, cancellationToken).ConfigureAwait(false);
        return new RemoteSender<T>(this, codec, Task.FromResult(stream));
    }

    /// <summary>Waits for the peer to open a channel with <see cref="OpenSenderAsync{T}(IMessageCodec{T}, CancellationToken)"/>, in the order the peer opened them.</summary>
    /// <exception cref="PeerException">The connection is closed.</exception>
    public async ValueTask<Receiver<T>> AcceptReceiverAsync<T>(IMessageCodec<T> codec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(codec);
        PeerStream stream;
        try
        {
            stream = await _topLevel.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException e)
        {
            throw Closed(e);
        }
        return new RemoteReceiver<T>(this, codec, Task.FromResult(stream));
    }

    /// <summary>Opens a new channel of a <c>[GenerateShape]</c> type (<see cref="MessageCodec.Shaped{T}()"/>) to the peer.</summary>
    public ValueTask<Sender<T>> OpenSenderAsync<T>(CancellationToken cancellationToken = default)
        where T : PolyType.IShapeable<T> => OpenSenderAsync(MessageCodec.Shaped<T>(), cancellationToken);

    /// <summary>Waits for the peer to open a channel of a <c>[GenerateShape]</c> type (<see cref="MessageCodec.Shaped{T}()"/>).</summary>
    /// <exception cref="PeerException">The connection is closed.</exception>
    public ValueTask<Receiver<T>> AcceptReceiverAsync<T>(CancellationToken cancellationToken = default)
        where T : PolyType.IShapeable<T> => AcceptReceiverAsync(MessageCodec.Shaped<T>(), cancellationToken);

    /// <summary>Stops the session: pending accepts fail; with ownsConnection the connection is closed, which fails every channel.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await _closing.CancelAsync().ConfigureAwait(false);
        if (_ownsConnection)
        {
            await Connection.DisposeAsync().ConfigureAwait(false);
        }
        try
        {
            await _acceptLoop.ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
        }
        _closing.Dispose();
    }

    internal ulong NextAttachmentId() => (ulong)Interlocked.Increment(ref _nextId);

    internal ValueTask<PeerStream> OpenAttachmentAsync(ulong id, CancellationToken cancellationToken) =>
        OpenStreamAsync(StreamHeader.Attachment, id, cancellationToken);

    /// <summary>
    /// The stream of attachment <paramref name="id"/> named in a message from the peer: already arrived, or
    /// completing when it does (or failing when the connection is lost).
    /// </summary>
    /// <exception cref="PeerException">Too many unmatched attachments, or the id was already used.</exception>
    internal Task<PeerStream> BindAttachment(ulong id)
    {
        lock (_pending)
        {
            if (_pending.Remove(id, out var entry))
            {
                entry.Expiry?.Dispose();
                if (entry.ClaimedByMessage)
                {
                    throw new PeerException(PeerError.ProtocolViolation, $"Attachment {id} appears in two messages.");
                }
                return entry.Stream.Task;
            }
            if (_failure is not null)
            {
                return Task.FromException<PeerStream>(_failure);
            }
            CheckPendingLimit();
            var created = new Attachment(claimedByMessage: true);
            _pending.Add(id, created);
            StartExpiry(id, created);
            return created.Stream.Task;
        }
    }

    internal MessagePackReaderOptions ReaderOptions => Options.ReaderOptions;

    /// <summary>Nerdbank's starting context for top-level shaped messages of this session, made once (setting state allocates).</summary>
    internal Internal.Shaped.ShapedContext? ShapedContext { get; set; }

    internal ILogger Logger { get; }

    private void OnAttachmentStream(ulong id, PeerStream stream)
    {
        lock (_pending)
        {
            if (_pending.Remove(id, out var entry))
            {
                entry.Expiry?.Dispose();
                if (!entry.ClaimedByMessage)
                {
                    stream.Abort();
                    throw new PeerException(PeerError.ProtocolViolation, $"Two streams for attachment {id}.");
                }
                entry.Stream.TrySetResult(stream);
                return;
            }
            CheckPendingLimit();
            var created = new Attachment(claimedByMessage: false);
            created.Stream.SetResult(stream);
            _pending.Add(id, created);
            StartExpiry(id, created);
        }
    }

    /// <summary>Arms the timeout of a pending attachment (under the lock); the timer is disposed as soon as the other
    /// half arrives, so a reply stream bound within microseconds holds no timer for <see cref="MessageSessionOptions.AttachmentTimeout"/>.</summary>
    private void StartExpiry(ulong id, Attachment entry) =>
        entry.Expiry = Options.TimeProvider.CreateTimer(static state =>
        {
            var (session, id, entry) = ((MessageSession, ulong, Attachment))state!;
            _ = session.ExpireAsync(id, entry);
        }, (this, id, entry), Options.AttachmentTimeout, Timeout.InfiniteTimeSpan);

    /// <summary>An attachment whose other half has not come within the timeout is dropped, so nothing waits forever.</summary>
    private async Task ExpireAsync(ulong id, Attachment entry)
    {
        lock (_pending)
        {
            if (!_pending.TryGetValue(id, out var current) || current != entry)
            {
                return;
            }
            _pending.Remove(id);
        }
        if (entry.ClaimedByMessage)
        {
            entry.Stream.TrySetException(new PeerException(PeerError.Timeout,
                $"The stream of attachment {id} from {RemotePeer} did not arrive within {Options.AttachmentTimeout.TotalSeconds:0.#} s."));
        }
        else
        {
            var stream = entry.Stream.Task.Result;
            MessagingLog.AttachmentExpired(Logger, RemotePeer, id);
            stream.Abort();
            await stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    private void CheckPendingLimit()
    {
        if (_pending.Count >= Options.MaxPendingAttachments)
        {
            throw new PeerException(PeerError.LimitExceeded, $"More than {Options.MaxPendingAttachments} attachments are waiting for their message or stream.");
        }
    }

    private async ValueTask<PeerStream> OpenStreamAsync(byte kind, ulong id, CancellationToken cancellationToken)
    {
        // Optimistic: the stream header (and the first message) follow the protocol proposal without a round trip.
        var stream = await Connection.OpenStreamAsync(Protocol, optimistic: true, cancellationToken).ConfigureAwait(false);
        try
        {
            await StreamHeader.WriteAsync(stream, kind, id, cancellationToken).ConfigureAwait(false);
            return stream;
        }
        catch
        {
            stream.Abort();
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Reads each inbound stream's header on its own task (a stalled stream cannot hold up the others' headers)
    /// but queues top-level channels in the order the peer opened them, as <see cref="AcceptReceiverAsync{T}(IMessageCodec{T}, CancellationToken)"/>
    /// promises: with optimistic stream opening several are in flight at once.
    /// </summary>
    private async Task AcceptLoopAsync()
    {
        await Task.Yield();
        var classified = Channel.CreateUnbounded<Task<PeerStream?>>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var delivery = DeliverInOrderAsync(classified.Reader);
        Exception reason;
        try
        {
            while (true)
            {
                var stream = await Connection.AcceptStreamAsync(_closingToken).ConfigureAwait(false);
                if (stream.Protocol != Protocol)
                {
                    MessagingLog.ForeignStreamReset(Logger, RemotePeer, stream.Protocol);
                    stream.Abort();
                    await stream.DisposeAsync().ConfigureAwait(false);
                    continue;
                }
                var classification = ClassifyAsync(stream);
                if (classification.IsCompleted && Volatile.Read(ref _queuedClassifications) == 0)
                {
                    // The header was already buffered (it follows the optimistic proposal): hand the stream on now.
                    await DeliverAsync(classification.Result).ConfigureAwait(false);
                }
                else
                {
                    Interlocked.Increment(ref _queuedClassifications);
                    classified.Writer.TryWrite(classification);
                }
            }
        }
        catch (Exception e)
        {
            reason = e as PeerException ?? new PeerException(PeerError.ConnectionClosed, $"The message session with {RemotePeer} is closed.", e);
            MessagingLog.SessionClosed(Logger, RemotePeer, reason.Message);
        }
        classified.Writer.TryComplete();
        await delivery.ConfigureAwait(false);
        Fail(reason);
    }

    /// <summary>Classifications that did not complete at once (or queued behind one); the count drops only after
    /// the stream was handed on, so the accept loop never overtakes a queued channel.</summary>
    private int _queuedClassifications;

    private async Task DeliverInOrderAsync(ChannelReader<Task<PeerStream?>> classified)
    {
        await foreach (var next in classified.ReadAllAsync().ConfigureAwait(false))
        {
            // ClassifyAsync never throws: attachments and rejected streams come back as null.
            await DeliverAsync(await next.ConfigureAwait(false)).ConfigureAwait(false);
            Interlocked.Decrement(ref _queuedClassifications);
        }
    }

    private async ValueTask DeliverAsync(PeerStream? stream)
    {
        if (stream is not null && !_topLevel.Writer.TryWrite(stream))
        {
            MessagingLog.InboundStreamRejected(Logger, RemotePeer, "too many channels are waiting to be accepted (MaxPendingChannels)");
            stream.Abort();
            await stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Reads the stream header: returns a top-level channel's stream, or null after binding an attachment or rejecting the stream.</summary>
    /// <remarks>The header timeout is armed only when the header has to be waited for (a timer that resets the
    /// stream, failing the read); a header that is already buffered costs no timer and no cancellation source.</remarks>
    private async Task<PeerStream?> ClassifyAsync(PeerStream stream)
    {
        ITimer? deadline = null;
        StrongBox<bool>? expired = null;
        CancellationTokenRegistration closing = default;
        try
        {
            var read = StreamHeader.ReadAsync(stream, CancellationToken.None);
            if (!read.IsCompleted)
            {
                expired = new StrongBox<bool>();
                deadline = Options.TimeProvider.CreateTimer(static state =>
                {
                    var (s, flag) = ((PeerStream, StrongBox<bool>))state!;
                    Volatile.Write(ref flag.Value, true);
                    s.Abort();
                }, (stream, expired), Options.StreamHeaderTimeout, Timeout.InfiniteTimeSpan);
                // Disposing the session stops the wait too (the connection may live on).
                closing = _closingToken.UnsafeRegister(static state => ((PeerStream)state!).Abort(), stream);
            }
            (byte kind, ulong id) header;
            try
            {
                header = await read.ConfigureAwait(false);
            }
            catch (Exception) when (expired is not null && Volatile.Read(ref expired.Value))
            {
                throw new PeerException(PeerError.Timeout, $"The channel stream header did not arrive within {Options.StreamHeaderTimeout.TotalSeconds:0.#} s.");
            }
            var (kind, id) = header;
            if (kind == StreamHeader.TopLevel)
            {
                return stream;
            }
            OnAttachmentStream(id, stream);
            return null;
        }
        catch (Exception e)
        {
            // A bad or unwanted stream is reset; the connection and other channels carry on.
            MessagingLog.InboundStreamRejected(Logger, RemotePeer, e.Message);
            stream.Abort();
            await stream.DisposeAsync().ConfigureAwait(false);
            return null;
        }
        finally
        {
            deadline?.Dispose();
            closing.Dispose();
        }
    }

    private void Fail(Exception reason)
    {
        _topLevel.Writer.TryComplete(reason);
        lock (_pending)
        {
            _failure = reason;
            foreach (var entry in _pending.Values)
            {
                entry.Expiry?.Dispose();
                entry.Stream.TrySetException(reason);
            }
            _pending.Clear();
        }
    }

    private PeerException Closed(Exception e) =>
        e.InnerException as PeerException ?? new PeerException(PeerError.ConnectionClosed, $"The message session with {RemotePeer} is closed.", e);

    private sealed class Attachment(bool claimedByMessage)
    {
        public bool ClaimedByMessage { get; } = claimedByMessage;

        public TaskCompletionSource<PeerStream> Stream { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The timeout; disposed when the entry leaves the table.</summary>
        public ITimer? Expiry { get; set; }
    }
}
