using System.CommandLine;
using System.Net;
using System.Text;
using Microsoft.Extensions.Logging;
using Pinhole.Dtls;

namespace Pinhole.Cli.Commands;

/// <summary>
/// DTLS datagrams from the shell: <c>packet listen</c> prints each packet it receives (one per line),
/// <c>packet send</c> sends each line of standard input as one packet. Addresses are
/// <c>/ip4/…/udp/…/p2p/&lt;PeerId&gt;</c>.
/// </summary>
internal static class PacketCommand
{
    public static Command Create()
    {
        var command = new Command("packet", "Send and receive DTLS 1.2 datagrams authenticated by PeerId (docs/dtls.md).");
        command.Subcommands.Add(CreateListen());
        command.Subcommands.Add(CreateSend());
        return command;
    }

    private static Command CreateListen()
    {
        var command = new Command("listen", "Print the address, then every packet received (one line each, prefixed by the sender's PeerId with --verbose-peers).");
        var listen = new Option<string>("--listen", "-l") { Description = "UDP multiaddr to bind.", DefaultValueFactory = _ => "/ip4/0.0.0.0/udp/0" };
        var echo = new Option<bool>("--echo") { Description = "Send every packet back to its sender." };
        var showPeer = new Option<bool>("--verbose-peers") { Description = "Prefix each printed packet with the sender's PeerId." };
        command.Options.Add(listen);
        command.Options.Add(echo);
        command.Options.Add(showPeer);
        command.SetAction((parse, ct) => CommandRunner.RunAsync(async token =>
        {
            using var identity = await GlobalOptions.LoadIdentityAsync(parse, token);
            using var logging = GlobalOptions.CreateLoggerFactory(parse, LogLevel.Information);
            var bindAt = Multiaddr.Parse(parse.GetValue(listen)!);
            if (!bindAt.TryGetIPEndPoint(out var endPoint, out var transport) || transport != "udp")
            {
                return CommandRunner.Fail($"--listen needs /ip4|ip6/<address>/udp/<port>, not {bindAt}.", ExitCodes.Usage);
            }
            await using var listener = await DtlsListener.ListenAsync(new DtlsEndpointOptions
            {
                Identity = identity,
                Bind = UdpDatagramBind.Bind(endPoint),
                LoggerFactory = logging,
            }, token);
            var bound = (IPEndPoint)listener.LocalEndPoint;
            var addresses = bound.Address.Equals(IPAddress.Any) ? [IPAddress.Loopback] : new[] { bound.Address };
            foreach (var address in addresses)
            {
                await Console.Out.WriteLineAsync($"{Multiaddr.FromIPEndPoint(new IPEndPoint(address, bound.Port), "udp")}/p2p/{identity.PeerId}");
            }
            await Console.Out.FlushAsync(token);
            var output = new SemaphoreSlim(1);
            var sessions = new List<Task>();
            try
            {
                while (true)
                {
                    var connection = await listener.AcceptAsync(token);
                    sessions.Add(ServeAsync(connection, parse.GetValue(echo), parse.GetValue(showPeer), output, token));
                    sessions.RemoveAll(t => t.IsCompleted);
                }
            }
            catch (OperationCanceledException)
            {
            }
            await Task.WhenAll(sessions);
            return ExitCodes.Success;
        }, ct));
        return command;
    }

    private static async Task ServeAsync(DtlsConnection connection, bool echo, bool showPeer, SemaphoreSlim output, CancellationToken cancellationToken)
    {
        await using (connection)
        {
            try
            {
                while (true)
                {
                    var packet = await connection.ReceiveAsync(cancellationToken);
                    await output.WaitAsync(cancellationToken);
                    try
                    {
                        var text = Encoding.UTF8.GetString(packet);
                        await Console.Out.WriteLineAsync(showPeer ? $"{connection.RemotePeer}: {text}" : text);
                        await Console.Out.FlushAsync(cancellationToken);
                    }
                    finally
                    {
                        output.Release();
                    }
                    if (echo)
                    {
                        await connection.SendAsync(packet, cancellationToken);
                    }
                }
            }
            catch (Exception e) when (e is PeerException or OperationCanceledException)
            {
                // The peer closed (close_notify), timed out, or we are stopping.
            }
        }
    }

    private static Command CreateSend()
    {
        var command = new Command("send", "Send each line of standard input as one packet to ADDRESS; print packets that come back.");
        var address = new Argument<string>("ADDRESS") { Description = "/ip4/…/udp/…/p2p/<PeerId> as 'packet listen' prints it." };
        var wait = new Option<double>("--wait") { Description = "Seconds to wait for replies after the last line.", DefaultValueFactory = _ => 1 };
        command.Arguments.Add(address);
        command.Options.Add(wait);
        command.SetAction((parse, ct) => CommandRunner.RunAsync(async token =>
        {
            var target = PeerAddress.Parse(parse.GetValue(address)!);
            if (target.PeerId is null || target.Hints.Count == 0
                || !target.Hints[0].TryGetIPEndPoint(out var remote, out var transport) || transport != "udp")
            {
                return CommandRunner.Fail("ADDRESS must be /ip4|ip6/<address>/udp/<port>/p2p/<PeerId>.", ExitCodes.Usage);
            }
            using var identity = await GlobalOptions.LoadIdentityAsync(parse, token);
            using var logging = GlobalOptions.CreateLoggerFactory(parse);
            var local = new IPEndPoint(remote.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
            await using var endpoint = DtlsEndpoint.Create(new DtlsEndpointOptions { Identity = identity, Bind = UdpDatagramBind.Bind(local), LoggerFactory = logging });
            await using var connection = await endpoint.ConnectAsync(remote, target.PeerId, token);
            var replies = PrintRepliesAsync(connection, token);
            string? line;
            while ((line = await Console.In.ReadLineAsync(token)) is not null)
            {
                await connection.SendAsync(Encoding.UTF8.GetBytes(line), token);
            }
            await Task.Delay(TimeSpan.FromSeconds(parse.GetValue(wait)), token);
            await connection.CloseAsync();
            await replies;
            return ExitCodes.Success;
        }, ct));
        return command;
    }

    private static async Task PrintRepliesAsync(DtlsConnection connection, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                var packet = await connection.ReceiveAsync(cancellationToken);
                await Console.Out.WriteLineAsync(Encoding.UTF8.GetString(packet));
            }
        }
        catch (Exception e) when (e is PeerException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }
}
