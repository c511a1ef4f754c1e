using System.CommandLine;
using Microsoft.Extensions.Logging;

namespace Pinhole.Cli.Commands;

internal static class ConnectOptions
{
    public static Option<bool> TrustOnFirstUse => new("--trust-on-first-use")
    {
        Description = "Accept whatever peer answers when ADDRESS names no PeerId (logged; the peer is not checked).",
    };

    public static Option<double> Timeout => new("--timeout")
    {
        Description = "Seconds allowed for connecting and the handshake.",
        DefaultValueFactory = _ => 10,
    };

    public static PeerConnectOptions Create(ParseResult parse, NodeIdentity identity, ILoggerFactory logging, string address) => new()
    {
        Identity = identity,
        Remote = PeerAddress.Parse(address),
        TrustOnFirstUse = parse.GetValue<bool>("--trust-on-first-use"),
        HandshakeTimeout = TimeSpan.FromSeconds(parse.GetValue<double?>("--timeout") ?? 10),
        LoggerFactory = logging,
    };
}
