using System.Net;
using System.Net.Sockets;
using Pinhole.Connections;
using Pinhole.Testing;

namespace Pinhole.Reliability.Tests.Faults;

/// <summary>
/// Two network namespaces joined by a veth pair, 10.77.0.1 (A) and 10.77.0.2 (B), with faults on both ends:
/// <c>tc netem</c> (5 % loss, 5 % duplication, 25 % reordering, 200 ms of jitter on a 50 ms delay) where the kernel has
/// it; where it does not (CONFIG_NET_SCH_NETEM unset, as on this project's machines), nftables on the netdev egress
/// hook: 5 % random loss and 5 % duplication, no reordering or jitter (<see cref="Impairment"/> says which).
/// </summary>
public sealed class LossyLink : IAsyncDisposable
{
    public const string Netem = "delay 50ms 200ms loss 5% duplicate 5% reorder 25% 50%";
    public static readonly IPAddress A = IPAddress.Parse("10.77.0.1");
    public static readonly IPAddress B = IPAddress.Parse("10.77.0.2");

    private LossyLink(NetworkNamespace a, NetworkNamespace b, string impairment)
    {
        SideA = a;
        SideB = b;
        Impairment = impairment;
    }

    /// <summary>What the link does to packets, for the test's report.</summary>
    public string Impairment { get; }

    private bool HasNetem => Impairment.StartsWith("netem", StringComparison.Ordinal);

    public NetworkNamespace SideA { get; }

    public NetworkNamespace SideB { get; }

    public static async Task<LossyLink> CreateAsync()
    {
        var a = await NetworkNamespace.CreateAsync("lossa");
        NetworkNamespace? b = null;
        try
        {
            b = await NetworkNamespace.CreateAsync("lossb");
            await NetworkNamespace.ConnectAsync(a, "veth-a", b, "veth-b");
            await a.AddAddressAsync("veth-a", "10.77.0.1/24");
            await b.AddAddressAsync("veth-b", "10.77.0.2/24");
            var netem = (await a.TryExecAsync(["tc", "qdisc", "add", "dev", "veth-a", "root", "netem", .. Netem.Split(' ')])).ExitCode == 0;
            if (netem)
            {
                await b.ExecAsync(["tc", "qdisc", "add", "dev", "veth-b", "root", "netem", .. Netem.Split(' ')]);
                return new LossyLink(a, b, "netem " + Netem);
            }
            await a.NftAsync(NftImpairment("veth-a"));
            await b.NftAsync(NftImpairment("veth-b"));
            return new LossyLink(a, b, "nftables: 5% loss, 5% duplication (no netem in this kernel: no reordering or jitter)");
        }
        catch
        {
            if (b is not null)
            {
                await b.DisposeAsync();
            }
            await a.DisposeAsync();
            throw;
        }
    }

    private static string NftImpairment(string device) => $$"""
        table netdev impair {
            chain egress {
                type filter hook egress device "{{device}}" priority 0; policy accept;
                numgen random mod 100 < 5 drop
                numgen random mod 100 < 5 dup to "{{device}}"
            }
        }
        """;

    /// <summary>Makes A's side drop everything it sends or receives (the peer vanishes without a FIN or RST).</summary>
    public async Task CutAsync()
    {
        if (HasNetem)
        {
            await SideA.ExecAsync("tc", "qdisc", "change", "dev", "veth-a", "root", "netem", "loss", "100%");
        }
        else
        {
            await SideA.NftAsync("""
                table netdev cutout {
                    chain egress {
                        type filter hook egress device "veth-a" priority -10; policy drop;
                    }
                }
                """);
        }
        await SideA.ExecAsync("nft", "add", "table", "inet", "cut");
        await SideA.ExecAsync("nft", "add", "chain", "inet", "cut", "input", "{ type filter hook input priority -10 ; policy accept ; }");
        await SideA.ExecAsync("nft", "add", "rule", "inet", "cut", "input", "iifname", "veth-a", "drop");
    }

    /// <summary>Dials <paramref name="target"/> (in B) from a socket made in A, with the normal upgrade.</summary>
    public async Task<PeerConnection> ConnectFromAAsync(NodeIdentity identity, PeerId remote, IPEndPoint target, PeerConnectOptions options, CancellationToken cancellationToken)
    {
        var socket = SideA.CreateSocket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.NoDelay = true;
            await socket.ConnectAsync(target, cancellationToken);
            var upgraded = await ConnectionUpgrader.UpgradeOutboundAsync(new NetworkStream(socket, ownsSocket: true), remote, options, cancellationToken);
            return new PeerConnection(upgraded.Session, upgraded.RemoteKey, options, isInbound: false, "tcp", null, null);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await SideA.DisposeAsync();
        await SideB.DisposeAsync();
    }
}
