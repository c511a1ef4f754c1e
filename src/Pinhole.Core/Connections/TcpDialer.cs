using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Pinhole.Connections;

/// <summary>Resolves a TCP multiaddr hint and connects to it.</summary>
internal static class TcpDialer
{
    public static async Task<IReadOnlyList<IPEndPoint>> ResolveAsync(Multiaddr hint, CancellationToken cancellationToken)
    {
        if (CircuitAddress.IsCircuit(hint))
        {
            // Its leading /ip4/../tcp/.. is the relay's, not the peer's: dialing it would reach the wrong peer.
            throw new PeerException(PeerError.Unreachable, $"Cannot dial {hint} over tcp: it is a relayed (/p2p-circuit) address; dial it through a relay client.");
        }
        if (hint.TryGetIPEndPoint(out var endPoint, out var transport))
        {
            return transport == "tcp"
                ? [endPoint]
                : throw new PeerException(PeerError.Unreachable, $"Cannot dial {hint}: the tcp netlayer needs /tcp, not /{transport}.");
        }
        var components = hint.Components;
        if (components.Count >= 2 && components[0].Protocol is "dns" or "dns4" or "dns6" && components[1].Protocol == "tcp")
        {
            var port = int.Parse(components[1].Value!, CultureInfo.InvariantCulture);
            IPAddress[] addresses;
            try
            {
                addresses = await Dns.GetHostAddressesAsync(components[0].Value!, cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException e)
            {
                throw new PeerException(PeerError.Unreachable, $"Cannot resolve {components[0].Value}: {e.Message}", e);
            }
            var family = components[0].Protocol switch
            {
                "dns4" => AddressFamily.InterNetwork,
                "dns6" => AddressFamily.InterNetworkV6,
                _ => AddressFamily.Unspecified,
            };
            var result = addresses.Where(a => family == AddressFamily.Unspecified || a.AddressFamily == family).Select(a => new IPEndPoint(a, port)).ToList();
            return result.Count > 0 ? result : throw new PeerException(PeerError.Unreachable, $"{components[0].Value} has no {components[0].Protocol} address.");
        }
        throw new PeerException(PeerError.Unreachable, $"Cannot dial {hint}: the tcp netlayer needs /ip4|ip6|dns|dns4|dns6/<host>/tcp/<port>.");
    }

    public static async Task<Socket> ConnectAsync(IReadOnlyList<IPEndPoint> endPoints, Multiaddr hint, Func<AddressFamily, Socket>? socketFactory, CancellationToken cancellationToken)
    {
        SocketException? last = null;
        foreach (var endPoint in endPoints)
        {
            Socket? socket = null;
            try
            {
                // A factory that cannot make the socket (e.g. its namespace is gone) fails this attempt like a refused connect.
                socket = socketFactory is null ? new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) : socketFactory(endPoint.AddressFamily);
                socket.NoDelay = true;
                await socket.ConnectAsync(endPoint, cancellationToken).ConfigureAwait(false);
                return socket;
            }
            catch (SocketException e)
            {
                socket?.Dispose();
                last = e;
            }
            catch
            {
                socket?.Dispose();
                throw;
            }
        }
        throw new PeerException(PeerError.Unreachable, $"Cannot connect to {hint}: {last?.Message}", last);
    }
}
