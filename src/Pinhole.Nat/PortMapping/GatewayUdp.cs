using System.Net;
using System.Net.Sockets;

namespace Pinhole.Nat.Mapping;

/// <summary>
/// One UDP request/response exchange with the gateway (NAT-PMP, PCP, SSDP unicast): sends, resends at RTO,
/// 2·RTO, … and returns the first reply from the expected source that <c>accept</c> takes; null after the last wait.
/// </summary>
internal static class GatewayUdp
{
    internal static async Task<T?> ExchangeAsync<T>(PortMapperOptions options, IPEndPoint server, byte[] request, Func<byte[], T?> accept, CancellationToken cancellationToken, IPEndPoint? alsoSendTo = null)
        where T : class
    {
        using Socket socket = options.CreateSocket(SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Any, 0));
        var buffer = new byte[UpnpCodec.MaxSsdpResponse + 1];
        TimeSpan rto = options.InitialRetransmitTimeout;
        for (int send = 0; send < options.MaxSends; send++)
        {
            try
            {
                await socket.SendToAsync(request, SocketFlags.None, server, cancellationToken).ConfigureAwait(false);
                if (alsoSendTo is not null)
                {
                    await socket.SendToAsync(request, SocketFlags.None, alsoSendTo, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.NetworkUnreachable or SocketError.HostUnreachable or SocketError.AccessDenied)
            {
                return null;
            }
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            using ITimer timer = options.TimeProvider.CreateTimer(static s => ((CancellationTokenSource)s!).Cancel(), wait, rto, Timeout.InfiniteTimeSpan);
            try
            {
                while (true)
                {
                    SocketReceiveFromResult r = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), wait.Token).ConfigureAwait(false);
                    // Only the gateway's own answers count (RFC 6886 §3.1): anything else on the LAN is ignored.
                    if (r.RemoteEndPoint is not IPEndPoint from || !from.Address.Equals(server.Address) || (server.Port != UpnpCodec.SsdpPort && from.Port != server.Port))
                    {
                        continue;
                    }
                    if (accept(buffer.AsSpan(0, r.ReceivedBytes).ToArray()) is { } reply)
                    {
                        return reply;
                    }
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionRefused)
            {
                // ICMP port unreachable: nobody serves this protocol there.
                return null;
            }
            rto *= 2;
        }
        return null;
    }

    /// <summary>Our address on the route to the gateway (a connected UDP socket's local address; nothing is sent).</summary>
    internal static IPAddress LocalAddressTowards(PortMapperOptions options)
    {
        using Socket socket = options.CreateSocket(SocketType.Dgram, ProtocolType.Udp);
        socket.Connect(new IPEndPoint(options.Gateway!, NatPmpCodec.Port));
        return ((IPEndPoint)socket.LocalEndPoint!).Address;
    }
}
