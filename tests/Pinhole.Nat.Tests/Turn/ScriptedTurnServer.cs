using System.Net;
using System.Net.Sockets;

namespace Pinhole.Nat.Tests.Turn;

/// <summary>
/// A TURN server on 127.0.0.1 (port 0) that follows RFC 8656 well enough for the client's happy path (401 with
/// REALM and NONCE, long-term MESSAGE-INTEGRITY both ways, Allocate, Refresh, CreatePermission, ChannelBind) and
/// lets a test replace any answer (<see cref="Override"/>) to play a hostile or broken server. It records every
/// message the client sends and can send ChannelData and Data indications to it.
/// </summary>
internal sealed class ScriptedTurnServer : IAsyncDisposable
{
    public const string User = "alice";
    public const string Password = "wonderland";
    public const string ServerRealm = "scripted.test";

    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly List<StunMessage> _received = [];
    private readonly List<byte[]> _channelData = [];
    private readonly Dictionary<StunTransactionId, byte[]?> _answers = [];

    public ScriptedTurnServer()
    {
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _loop = Task.Run(ServeAsync);
    }

    public IPEndPoint EndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    public IPEndPoint Relayed { get; set; } = new(IPAddress.Parse("192.0.2.99"), 50000);

    public string Nonce { get; set; } = "nonce-1";

    public uint GrantedLifetime { get; set; } = 600;

    /// <summary>Returns the answer to a request (null: the default behaviour; an empty array: no answer at all).</summary>
    public Func<StunMessage, byte[]?>? Override { get; set; }

    /// <summary>The client's address, once it has sent something.</summary>
    public IPEndPoint? Client { get; private set; }

    public byte[] Key { get; } = StunCredentials.LongTermKey(User, ServerRealm, Password);

    public TurnClientOptions Options(TimeProvider? time = null) => new()
    {
        Server = EndPoint,
        Username = User,
        Password = Password,
        TimeProvider = time ?? TimeProvider.System,
    };

    public IReadOnlyList<StunMessage> Received
    {
        get
        {
            lock (_received)
            {
                return [.. _received];
            }
        }
    }

    public IReadOnlyList<byte[]> ChannelDataReceived
    {
        get
        {
            lock (_channelData)
            {
                return [.. _channelData];
            }
        }
    }

    public int Count(StunMethod method, StunClass stunClass = StunClass.Request) => Received.Count(m => m.Method == method && m.Class == stunClass);

    public Task SendToClientAsync(byte[] datagram) => _socket.SendToAsync(datagram, SocketFlags.None, Client!);

    /// <summary>A success response to <paramref name="request"/>, integrity-protected with the server's key.</summary>
    public StunMessageBuilder Success(StunMessage request) => new(request.Method, StunClass.SuccessResponse, request.TransactionId);

    public byte[] Seal(StunMessageBuilder response, byte[]? key = null) => response.AddMessageIntegrity(key ?? Key).AddFingerprint().ToArray();

    public byte[] Error(StunMessage request, int code, string reason, Action<StunMessageBuilder>? more = null)
    {
        var b = new StunMessageBuilder(request.Method, StunClass.ErrorResponse, request.TransactionId).AddErrorCode(code, reason);
        more?.Invoke(b);
        return b.AddFingerprint().ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _socket.Dispose();
        try
        {
            await _loop;
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
        _stop.Dispose();
    }

    private async Task ServeAsync()
    {
        var buffer = new byte[65536];
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult r = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), _stop.Token);
            Client = (IPEndPoint)r.RemoteEndPoint;
            ReadOnlySpan<byte> datagram = buffer.AsSpan(0, r.ReceivedBytes);
            if (DatagramClassifier.Classify(datagram) == DatagramKind.ChannelData)
            {
                lock (_channelData)
                {
                    _channelData.Add(datagram.ToArray());
                }
                continue;
            }
            if (!StunMessage.TryParse(datagram, out StunMessage? message, out _))
            {
                continue;
            }
            // A retransmission (the client's timer fired before our answer arrived, as on a loaded machine) is
            // answered as the first time and not recorded again, as a real server does (RFC 8489 §6.3.4).
            byte[]? answer;
            if (message.Class == StunClass.Request && _answers.TryGetValue(message.TransactionId, out answer))
            {
                if (answer is { Length: > 0 })
                {
                    await _socket.SendToAsync(answer, SocketFlags.None, r.RemoteEndPoint, _stop.Token);
                }
                continue;
            }
            lock (_received)
            {
                _received.Add(message);
            }
            if (message.Class != StunClass.Request)
            {
                continue;
            }
            answer = Override?.Invoke(message) ?? Default(message);
            _answers[message.TransactionId] = answer;
            if (answer is { Length: > 0 })
            {
                await _socket.SendToAsync(answer, SocketFlags.None, r.RemoteEndPoint, _stop.Token);
            }
        }
    }

    private byte[] Default(StunMessage request)
    {
        if (!request.HasMessageIntegrity)
        {
            return Error(request, StunErrorCode.Unauthenticated, "Unauthenticated", b => b.AddText(StunAttributeType.Realm, ServerRealm).AddText(StunAttributeType.Nonce, Nonce));
        }
        if (!request.VerifyMessageIntegrity(Key) || request.Username != User)
        {
            return Error(request, StunErrorCode.Unauthenticated, "Unauthenticated", b => b.AddText(StunAttributeType.Realm, ServerRealm).AddText(StunAttributeType.Nonce, Nonce));
        }
        if (request.Nonce != Nonce)
        {
            return Error(request, StunErrorCode.StaleNonce, "Stale Nonce", b => b.AddText(StunAttributeType.Realm, ServerRealm).AddText(StunAttributeType.Nonce, Nonce));
        }
        StunMessageBuilder ok = Success(request);
        switch (request.Method)
        {
            case StunMethod.Allocate:
                ok.AddXorAddress(StunAttributeType.XorRelayedAddress, Relayed).AddXorAddress(StunAttributeType.XorMappedAddress, Client!)
                    .AddUInt32(StunAttributeType.Lifetime, GrantedLifetime);
                break;
            case StunMethod.Refresh:
                ok.AddUInt32(StunAttributeType.Lifetime, request.Lifetime is { } asked && asked == TimeSpan.Zero ? 0 : GrantedLifetime);
                break;
        }
        return Seal(ok);
    }
}
