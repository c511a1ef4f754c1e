using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pinhole.Dtls;
using Pinhole.Nat.Internal;

namespace Pinhole.Nat;

/// <summary>
/// STUN client transactions over UDP (RFC 8489 §6.2.1): each request is sent, then resent after RTO, 2·RTO,
/// 4·RTO, … up to <see cref="StunClientOptions.MaxSends"/> sends, and fails with <see cref="PeerError.Timeout"/>
/// if no response with its transaction ID arrives within <see cref="StunClientOptions.FinalWaitMultiplier"/>
/// RTOs of the last send. Responses are matched by transaction ID only (RFC 5780 answers come from another
/// address). Made standalone over a bind with <see cref="Create"/>, or by UdpMux on a shared socket.
/// </summary>
public sealed class StunClient : IAsyncDisposable
{
    private readonly ConcurrentDictionary<StunTransactionId, Transaction> _pending = new();
    private readonly Func<EndPoint, ReadOnlyMemory<byte>, CancellationToken, ValueTask> _send;
    private readonly StunClientOptions _options;
    private readonly ILogger _logger;
    private readonly IDatagramBind? _ownedBind;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task? _receiveLoop;
    private int _disposed;

    internal StunClient(Func<EndPoint, ReadOnlyMemory<byte>, CancellationToken, ValueTask> send, StunClientOptions options, IDatagramBind? ownedBind = null)
    {
        _send = send;
        _options = options;
        _logger = options.LoggerFactory?.CreateLogger<StunClient>() ?? (ILogger)NullLogger.Instance;
        _ownedBind = ownedBind;
        if (ownedBind is not null)
        {
            _receiveLoop = Task.Run(ReceiveLoopAsync);
        }
    }

    /// <summary>
    /// A client that owns <paramref name="bind"/>: it reads every datagram and keeps the STUN responses
    /// (others are dropped). Disposing the client disposes the bind.
    /// </summary>
    public static StunClient Create(IDatagramBind bind, StunClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(bind);
        options ??= new StunClientOptions();
        options.Validate();
        return new StunClient(bind.SendPacketAsync, options, bind);
    }

    /// <summary>Requests waiting for an answer.</summary>
    public int PendingCount => _pending.Count;

    /// <summary>The settings in force.</summary>
    public StunClientOptions Options => _options;

    /// <summary>
    /// Sends <paramref name="request"/> (a finished request message) to <paramref name="server"/> with
    /// retransmissions and returns the first response with its transaction ID, success or error.
    /// </summary>
    /// <exception cref="PeerException"><see cref="PeerError.Timeout"/> without an answer; <see cref="PeerError.Unreachable"/>
    /// when the network refuses the send; <see cref="PeerError.LimitExceeded"/> with too many requests in flight.</exception>
    public Task<StunResponse> SendRequestAsync(EndPoint server, StunMessageBuilder request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Class != StunClass.Request)
        {
            throw new ArgumentException("Only requests have transactions; send indications with the bind.", nameof(request));
        }
        return SendRequestAsync(server, request.ToArray(), request.TransactionId, cancellationToken);
    }

    /// <summary>Like <see cref="SendRequestAsync(EndPoint, StunMessageBuilder, CancellationToken)"/> for an encoded request.</summary>
    public async Task<StunResponse> SendRequestAsync(EndPoint server, byte[] request, StunTransactionId transactionId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(request);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (_pending.Count >= _options.MaxPendingTransactions)
        {
            throw new PeerException(PeerError.LimitExceeded, $"{_options.MaxPendingTransactions} STUN requests are already in flight.");
        }
        var transaction = new Transaction(this, server, request, transactionId);
        if (!_pending.TryAdd(transactionId, transaction))
        {
            throw new InvalidOperationException($"A STUN request with transaction ID {transactionId} is already in flight.");
        }
        using CancellationTokenRegistration registration = cancellationToken.UnsafeRegister(
            static (state, token) => ((Transaction)state!).Fail(new OperationCanceledException(token)), transaction);
        transaction.Start();
        return await transaction.Task.ConfigureAwait(false);
    }

    /// <summary>A Binding request; returns the success response (XOR-MAPPED-ADDRESS and any RFC 5780 attributes).</summary>
    /// <exception cref="PeerException">As <see cref="SendRequestAsync(EndPoint, StunMessageBuilder, CancellationToken)"/>;
    /// <see cref="PeerError.Refused"/> for an error response; <see cref="PeerError.ProtocolViolation"/> for a success
    /// response without a mapped address or with unknown comprehension-required attributes.</exception>
    public async Task<StunResponse> BindingAsync(EndPoint server, bool changeIp = false, bool changePort = false, CancellationToken cancellationToken = default)
    {
        StunMessageBuilder request = StunMessageBuilder.Request(StunMethod.Binding);
        if (changeIp || changePort)
        {
            request.AddChangeRequest(changeIp, changePort);
        }
        request.AddFingerprint();
        StunResponse response = await SendRequestAsync(server, request, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccess)
        {
            throw new PeerException(PeerError.Refused, $"The STUN server at {server} answered {response.Message.ErrorCode?.ToString() ?? "an error without ERROR-CODE"}.");
        }
        if (response.Message.UnknownComprehensionRequired() is { Count: > 0 } unknown)
        {
            throw new PeerException(PeerError.ProtocolViolation, $"The STUN response from {server} has unknown comprehension-required attributes: {string.Join(", ", unknown.Select(StunAttributeType.Name))}.");
        }
        if (response.Message.ReflexiveAddress is null)
        {
            throw new PeerException(PeerError.ProtocolViolation, $"The STUN response from {server} has no XOR-MAPPED-ADDRESS.");
        }
        return response;
    }

    /// <summary>
    /// Offers a received datagram: if it is a STUN response to a request in flight, completes that request
    /// and returns true. Malformed messages and unknown transaction IDs return false.
    /// </summary>
    public bool TryHandleResponse(EndPoint source, ReadOnlySpan<byte> datagram)
    {
        if (!StunMessage.LooksLikeStun(datagram))
        {
            return false;
        }
        // Look the transaction up before parsing, so unsolicited datagrams cost no allocation.
        StunTransactionId id = StunTransactionId.Read(datagram[8..]);
        if (!_pending.TryGetValue(id, out Transaction? transaction))
        {
            return false;
        }
        if (!StunMessage.TryParse(datagram, out StunMessage? message, out string? error))
        {
            NatLog.StunMalformed(_logger, source, error);
            return false;
        }
        if (message.Class is not (StunClass.SuccessResponse or StunClass.ErrorResponse))
        {
            return false;
        }
        if (message.HasFingerprint && !message.HasValidFingerprint())
        {
            NatLog.StunMalformed(_logger, source, "bad FINGERPRINT");
            return false;
        }
        transaction.Complete(message, source);
        return true;
    }

    /// <summary>Fails every request in flight with <see cref="PeerError.ConnectionClosed"/> and stops the receive loop (standalone clients).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        foreach (Transaction t in _pending.Values)
        {
            t.Fail(new PeerException(PeerError.ConnectionClosed, "The STUN client was disposed."));
        }
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_ownedBind is not null)
        {
            await _ownedBind.DisposeAsync().ConfigureAwait(false);
        }
        if (_receiveLoop is not null)
        {
            await _receiveLoop.ConfigureAwait(false);
        }
        _stop.Dispose();
    }

    private async Task ReceiveLoopAsync()
    {
        byte[] buffer = new byte[65536];
        while (!_stop.IsCancellationRequested)
        {
            DatagramReceiveResult received;
            try
            {
                received = await _ownedBind!.ReceivePacketAsync(buffer, _stop.Token).ConfigureAwait(false);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is ObjectDisposedException or SocketException or OperationCanceledException)
            {
                return;
            }
            TryHandleResponse(received.RemoteEndPoint, buffer.AsSpan(0, received.Length));
        }
    }

    private sealed class Transaction
    {
        private readonly TaskCompletionSource<StunResponse> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly StunClient _client;
        private readonly EndPoint _server;
        private readonly byte[] _request;
        private readonly StunTransactionId _id;
        private readonly Lock _lock = new();
        private ITimer? _timer;
        private TimeSpan _rto;
        private int _sends;
        private long _lastSend;

        internal Transaction(StunClient client, EndPoint server, byte[] request, StunTransactionId id)
        {
            _client = client;
            _server = server;
            _request = request;
            _id = id;
            _rto = client._options.InitialRetransmitTimeout;
        }

        internal Task<StunResponse> Task => _completion.Task;

        internal void Start()
        {
            lock (_lock)
            {
                _timer = _client._options.TimeProvider.CreateTimer(static s => ((Transaction)s!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            }
            SendAndArm();
        }

        internal void Complete(StunMessage message, EndPoint source)
        {
            TimeSpan rtt = _client._options.TimeProvider.GetElapsedTime(Interlocked.Read(ref _lastSend));
            if (_completion.TrySetResult(new StunResponse(message, source, rtt)))
            {
                Finish();
            }
        }

        internal void Fail(Exception error)
        {
            if (_completion.TrySetException(error))
            {
                Finish();
            }
        }

        private void Finish()
        {
            _client._pending.TryRemove(new KeyValuePair<StunTransactionId, Transaction>(_id, this));
            lock (_lock)
            {
                _timer?.Dispose();
                _timer = null;
            }
        }

        private void OnTimer()
        {
            if (_completion.Task.IsCompleted)
            {
                return;
            }
            if (_sends >= _client._options.MaxSends)
            {
                NatLog.StunTimeout(_client._logger, _id, _server, _sends);
                TimeSpan total = _client._options.TransactionTimeout;
                Fail(new PeerException(PeerError.Timeout, $"No STUN response from {_server} after {_sends} sends over {total.TotalSeconds:0.###} s."));
                return;
            }
            SendAndArm();
        }

        private void SendAndArm()
        {
            _sends++;
            Interlocked.Exchange(ref _lastSend, _client._options.TimeProvider.GetTimestamp());
            TimeSpan wait = _sends >= _client._options.MaxSends ? _client._options.InitialRetransmitTimeout * _client._options.FinalWaitMultiplier : _rto;
            _rto *= 2;
            lock (_lock)
            {
                _timer?.Change(wait, Timeout.InfiniteTimeSpan);
            }
            _ = SendOnceAsync();
        }

        private async Task SendOnceAsync()
        {
            try
            {
                await _client._send(_server, _request, CancellationToken.None).ConfigureAwait(false);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.NetworkUnreachable or SocketError.HostUnreachable or SocketError.AddressNotAvailable or SocketError.AccessDenied)
            {
                NatLog.StunSendFailed(_client._logger, _server, e);
                Fail(new PeerException(PeerError.Unreachable, $"Cannot send to the STUN server at {_server}: {e.Message}", e));
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                // A transient error or a closing socket: the retransmission timer decides the outcome.
                NatLog.StunSendFailed(_client._logger, _server, e);
            }
        }
    }
}
