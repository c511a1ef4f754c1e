using System.Net;
using System.Net.Sockets;

namespace Pinhole.Reliability.Tests.Faults;

/// <summary>
/// A UDP relay on loopback between one client and one server that does to datagrams what a bad path does:
/// drops 5 %, duplicates 5 %, and delays each copy by a random 0–200 ms, which reorders them (seeded, so a
/// failure reproduces). The client sends to <see cref="ClientFacing"/>; the server sees the relay as its peer.
/// </summary>
public sealed class ImpairingRelay : IAsyncDisposable
{
    public const string Description = "5% loss, 5% duplication, 0-200 ms jitter (reordering)";

    private readonly Socket _clientSide = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly Socket _serverSide = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly EndPoint _server;
    private readonly Random _random;
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _up;
    private readonly Task _down;
    private EndPoint? _client;

    public ImpairingRelay(EndPoint server, int seed)
    {
        _server = server;
        _random = new Random(seed);
        _clientSide.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _serverSide.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _up = Task.Run(() => PumpAsync(_clientSide, toServer: true));
        _down = Task.Run(() => PumpAsync(_serverSide, toServer: false));
    }

    public EndPoint ClientFacing => _clientSide.LocalEndPoint!;

    public long Dropped { get; private set; }

    public long Duplicated { get; private set; }

    private async Task PumpAsync(Socket from, bool toServer)
    {
        var buffer = new byte[65536];
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await from.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), _stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stop.IsCancellationRequested)
                {
                    return;
                }
                continue;
            }
            if (toServer)
            {
                _client = received.RemoteEndPoint;
            }
            var destination = toServer ? _server : _client;
            if (destination is null)
            {
                continue;
            }
            var datagram = buffer.AsSpan(0, received.ReceivedBytes).ToArray();
            int copies;
            int[] delays;
            lock (_lock)
            {
                copies = _random.Next(100) < 5 ? 0 : _random.Next(100) < 5 ? 2 : 1;
                delays = [_random.Next(201), _random.Next(201)];
                Dropped += copies == 0 ? 1 : 0;
                Duplicated += copies == 2 ? 1 : 0;
            }
            var via = toServer ? _serverSide : _clientSide;
            for (var i = 0; i < copies; i++)
            {
                var delay = delays[i];
                _ = Task.Run(async () =>
                {
                    try
                    {
                        await Task.Delay(delay, _stop.Token);
                        await via.SendToAsync(datagram, SocketFlags.None, destination, _stop.Token);
                    }
                    catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
                    {
                    }
                });
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _clientSide.Dispose();
        _serverSide.Dispose();
        await Task.WhenAll(_up, _down);
        _stop.Dispose();
    }
}
