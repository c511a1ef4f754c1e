using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Pinhole.Testing;

/// <summary>
/// Loopback ports for tests that must name a port before something else binds it (an external server's
/// command line, a node's fixed port). Prefer port 0 wherever the code under test can report the port it got.
/// </summary>
/// <remarks>
/// The ports come from below the kernel's ephemeral range (<c>net.ipv4.ip_local_port_range</c>): a port the kernel
/// handed out for <c>bind(0)</c> a moment ago is in the range it also gives every outgoing connection, so a test
/// running in parallel could be holding it by the time the port is used (a CI run failed that way). Below the range
/// only explicit binds take a port; each is checked free by binding it, and picked at random so that parallel tests
/// do not try the same numbers.
/// </remarks>
public static class FreePort
{
    private const int Floor = 20000;

    /// <summary>A TCP port that was free on 127.0.0.1 a moment ago.</summary>
    public static int Tcp() => Pick(tcp: true, udp: false);

    /// <summary>A UDP port that was free on 127.0.0.1 a moment ago.</summary>
    public static int Udp() => Pick(tcp: false, udp: true);

    /// <summary>A port free for both TCP and UDP on 127.0.0.1 (nodes listen on both with one number).</summary>
    public static int TcpAndUdp() => Pick(tcp: true, udp: true);

    private static int Pick(bool tcp, bool udp)
    {
        var ceiling = EphemeralLow();
        for (var attempt = 0; attempt < 200; attempt++)
        {
            // No ephemeral-free room (a machine that widened the range): the kernel's choice, as before.
            var port = ceiling - Floor >= 1000 ? Random.Shared.Next(Floor, ceiling) : 0;
            using var t = tcp ? new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) : null;
            using var u = udp ? new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) : null;
            try
            {
                var first = (t ?? u)!;
                first.Bind(new IPEndPoint(IPAddress.Loopback, port));
                port = ((IPEndPoint)first.LocalEndPoint!).Port;
                if (t is not null)
                {
                    u?.Bind(new IPEndPoint(IPAddress.Loopback, port));
                }
                return port;
            }
            catch (SocketException)
            {
            }
        }
        throw new InvalidOperationException("No free loopback port after 200 tries.");
    }

    // The first port of the kernel's ephemeral range; the common default when the file cannot be read.
    private static int EphemeralLow()
    {
        try
        {
            var fields = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            return int.Parse(fields[0], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return 32768;
        }
    }
}
