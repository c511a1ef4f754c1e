using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pinhole.Dtls;
using Pinhole.Nat.Internal;

namespace Pinhole.Nat;

/// <summary>
/// A small STUN server (RFC 8489 Binding; RFC 5780 OTHER-ADDRESS, RESPONSE-ORIGIN and CHANGE-REQUEST when it
/// has four sockets), so any node with a public address can tell its peers their reflexive addresses.
/// It is stateless: each request gets one response, or none when it is not a request or fails FINGERPRINT.
/// The answering logic is <see cref="CreateResponse"/>, which UdpMux also uses on a shared socket.
/// </summary>
public sealed class StunServer : IAsyncDisposable
{
    private readonly StunServerOptions _options;
    private readonly IDatagramBind[] _binds;
    private readonly IPEndPoint[] _endPoints;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task[] _loops;
    private long _served;
    private int _disposed;

    private StunServer(StunServerOptions options)
    {
        _options = options;
        _binds = [.. options.Binds!];
        _endPoints = [.. _binds.Select(b => (IPEndPoint)b.LocalEndPoint)];
        _logger = options.LoggerFactory?.CreateLogger<StunServer>() ?? (ILogger)NullLogger.Instance;
        _loops = new Task[_binds.Length];
        for (int i = 0; i < _binds.Length; i++)
        {
            int index = i;
            _loops[i] = Task.Run(() => ServeAsync(index));
        }
        NatLog.StunServerListening(_logger, string.Join(", ", _endPoints.Select(e => e.ToString())));
    }

    /// <summary>Starts answering on <see cref="StunServerOptions.Binds"/>.</summary>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public static StunServer Start(StunServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return new StunServer(options);
    }

    /// <summary>
    /// Binds UDP sockets and starts a server: on <paramref name="primary"/> only, or, with
    /// <paramref name="otherAddress"/> (another local IP and another port), on the four RFC 5780 sockets.
    /// </summary>
    public static StunServer Bind(IPEndPoint primary, IPEndPoint? otherAddress = null, string? software = "pinhole", ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(primary);
        var binds = new List<IDatagramBind>();
        try
        {
            binds.Add(UdpDatagramBind.Bind(primary));
            if (otherAddress is not null)
            {
                int p1 = ((IPEndPoint)binds[0].LocalEndPoint).Port;
                binds.Add(UdpDatagramBind.Bind(new IPEndPoint(primary.Address, otherAddress.Port)));
                int p2 = ((IPEndPoint)binds[1].LocalEndPoint).Port;
                binds.Add(UdpDatagramBind.Bind(new IPEndPoint(otherAddress.Address, p1)));
                binds.Add(UdpDatagramBind.Bind(new IPEndPoint(otherAddress.Address, p2)));
            }
            return Start(new StunServerOptions { Binds = binds, Software = software, LoggerFactory = loggerFactory });
        }
        catch
        {
            foreach (IDatagramBind b in binds)
            {
                b.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
            throw;
        }
    }

    /// <summary>The addresses served: one, or primary, other port, other IP, other IP and port.</summary>
    public IReadOnlyList<IPEndPoint> LocalEndPoints => _endPoints;

    /// <summary>True with four sockets (RFC 5780 behaviour discovery).</summary>
    public bool SupportsBehaviorDiscovery => _binds.Length == 4;

    /// <summary>Requests answered so far.</summary>
    public long RequestsServed => Interlocked.Read(ref _served);

    /// <summary>
    /// The answer to one datagram received on <paramref name="localEndPoint"/> from <paramref name="source"/>,
    /// or null when nothing should be sent (not a request, bad FINGERPRINT, malformed). Without
    /// <paramref name="otherAddress"/> a CHANGE-REQUEST asking for a change gets 420. <paramref name="change"/>
    /// tells the caller which socket should send the answer (bit 0 = other port, bit 1 = other IP).
    /// </summary>
    public static byte[]? CreateResponse(ReadOnlySpan<byte> datagram, IPEndPoint source, IPEndPoint localEndPoint, IPEndPoint? otherAddress, string? software, out int change)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(localEndPoint);
        change = 0;
        if (!StunMessage.TryParse(datagram, out StunMessage? request, out _) || request.Class != StunClass.Request)
        {
            return null;
        }
        if (request.HasFingerprint && !request.HasValidFingerprint())
        {
            return null;
        }
        bool fingerprint = request.HasFingerprint;
        if (request.Method != StunMethod.Binding)
        {
            return Error(request, StunErrorCode.BadRequest, $"Method {request.Method} is not served here", null, software, fingerprint);
        }
        var unknown = request.UnknownComprehensionRequired().ToList();
        if (request.TryGetAttribute(StunAttributeType.ResponsePort, out _))
        {
            unknown.Add(StunAttributeType.ResponsePort);
        }
        if (request.ChangeRequest is { } flags && (flags.ChangeIp || flags.ChangePort))
        {
            if (otherAddress is null)
            {
                unknown.Add(StunAttributeType.ChangeRequest);
            }
            else
            {
                change = (flags.ChangePort ? 1 : 0) | (flags.ChangeIp ? 2 : 0);
            }
        }
        if (unknown.Count > 0)
        {
            change = 0;
            return Error(request, StunErrorCode.UnknownAttribute, "Unknown Attribute", unknown, software, fingerprint);
        }
        IPEndPoint origin = new(
            (change & 2) != 0 ? otherAddress!.Address : localEndPoint.Address,
            (change & 1) != 0 ? otherAddress!.Port : localEndPoint.Port);
        var response = new StunMessageBuilder(StunMethod.Binding, StunClass.SuccessResponse, request.TransactionId)
            .AddXorAddress(StunAttributeType.XorMappedAddress, Unmap(source));
        if (software is not null)
        {
            response.AddText(StunAttributeType.Software, software);
        }
        response.AddAddress(StunAttributeType.ResponseOrigin, origin);
        if (otherAddress is not null)
        {
            response.AddAddress(StunAttributeType.OtherAddress, otherAddress);
        }
        if (fingerprint)
        {
            response.AddFingerprint();
        }
        return response.ToArray();
    }

    /// <summary>Stops answering and (unless told otherwise) disposes the binds.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await _stop.CancelAsync().ConfigureAwait(false);
        if (!_options.LeaveBindsOpen)
        {
            foreach (IDatagramBind bind in _binds)
            {
                await bind.DisposeAsync().ConfigureAwait(false);
            }
        }
        await Task.WhenAll(_loops).ConfigureAwait(false);
        _stop.Dispose();
    }

    private static byte[] Error(StunMessage request, int code, string reason, IReadOnlyList<ushort>? unknown, string? software, bool fingerprint)
    {
        var response = new StunMessageBuilder(request.Method, StunClass.ErrorResponse, request.TransactionId).AddErrorCode(code, reason);
        if (unknown is not null)
        {
            response.AddUnknownAttributes(unknown);
        }
        if (software is not null)
        {
            response.AddText(StunAttributeType.Software, software);
        }
        if (fingerprint)
        {
            response.AddFingerprint();
        }
        return response.ToArray();
    }

    private static IPEndPoint Unmap(IPEndPoint e) => e.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(e.Address.MapToIPv4(), e.Port) : e;

    private async Task ServeAsync(int index)
    {
        IDatagramBind bind = _binds[index];
        IPEndPoint local = _endPoints[index];
        IPEndPoint? other = _binds.Length == 4 ? _endPoints[3] : null;
        byte[] buffer = new byte[2048];
        while (!_stop.IsCancellationRequested)
        {
            DatagramReceiveResult received;
            try
            {
                received = await bind.ReceivePacketAsync(buffer, _stop.Token).ConfigureAwait(false);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is ObjectDisposedException or SocketException or OperationCanceledException)
            {
                NatLog.StunServerLoopFailed(_logger, local, e);
                return;
            }
            if (received.RemoteEndPoint is not IPEndPoint source || received.Length > buffer.Length)
            {
                continue;
            }
            byte[]? reply = CreateResponse(buffer.AsSpan(0, received.Length), source, local, other, _options.Software, out int change);
            if (reply is null)
            {
                continue;
            }
            Interlocked.Increment(ref _served);
            // Binds are ordered so that index XOR change selects the socket: bit 0 flips the port, bit 1 the IP.
            IDatagramBind via = _binds.Length == 4 ? _binds[index ^ change] : bind;
            try
            {
                await via.SendPacketAsync(source, reply, _stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                NatLog.StunSendFailed(_logger, source, e);
            }
        }
    }
}
