using System.Collections.Concurrent;
using System.Net;
using Pinhole;
using Pinhole.Messaging;
using Pinhole.Samples.Chat;

// A chat room over authenticated, encrypted peer connections.
//   pinhole-chat listen [port] [--identity FILE]               hosts a room; prints the address to give out
//   pinhole-chat connect ADDRESS [--identity FILE] [--trust-on-first-use]
// ADDRESS names the host's PeerId (/ip4/127.0.0.1/tcp/4001/p2p/12D3...): the connection fails unless
// the host proves that key. Type lines to send; Ctrl+D to leave.

var rest = args.ToList();
string? identityPath = TakeOption(rest, "--identity");
bool tofu = rest.Remove("--trust-on-first-use");
using var identity = identityPath is null ? NodeIdentity.Generate() : await NodeIdentity.LoadOrCreateAsync(identityPath);
string me = identity.PeerId.ToString()[^6..];

switch (rest.FirstOrDefault())
{
    case "listen":
        int port = rest.Count > 1 ? int.Parse(rest[1], System.Globalization.CultureInfo.InvariantCulture) : 0;
        await HostAsync(identity, port, me);
        return 0;
    case "connect" when rest.Count > 1:
        try
        {
            await JoinAsync(identity, PeerAddress.Parse(rest[1]), tofu, me);
            return 0;
        }
        catch (Exception e) when (e is ArgumentException or FormatException or IOException)
        {
            Console.Error.WriteLine($"pinhole-chat: {e.Message}");
            return 1;
        }
    default:
        Console.Error.WriteLine("usage: pinhole-chat listen [port] [--identity FILE]");
        Console.Error.WriteLine("       pinhole-chat connect ADDRESS [--identity FILE] [--trust-on-first-use]");
        return 2;
}

static async Task HostAsync(NodeIdentity identity, int port, string me)
{
    var members = new ConcurrentDictionary<PeerId, MessageConnection<ChatLine>>();
    var options = new PeerListenerOptions
    {
        Identity = identity,
        ListenAddresses = [Multiaddr.FromIPEndPoint(new IPEndPoint(IPAddress.Loopback, port), "tcp")],
    };
    await using var room = await MessagePeer.ListenAsync<ChatLine>(options, async (member, ct) =>
    {
        members[member.RemotePeer] = member;
        await BroadcastAsync(members, new ChatLine("room", $"{member.RemotePeer.ToString()[^6..]} joined", DateTimeOffset.UtcNow));
        try
        {
            await foreach (var line in member.ReceiveAllAsync(ct))
            {
                Console.WriteLine(line);
                await BroadcastAsync(members, line, except: member.RemotePeer);
            }
        }
        finally
        {
            members.TryRemove(member.RemotePeer, out _);
        }
    });
    foreach (var address in room.Listener.GetDialableAddresses())
    {
        Console.WriteLine($"room open: pinhole-chat connect {address}");
    }
    while (Console.ReadLine() is { } text)
    {
        await BroadcastAsync(members, new ChatLine(me, text, DateTimeOffset.UtcNow));
    }
}

static async Task BroadcastAsync(ConcurrentDictionary<PeerId, MessageConnection<ChatLine>> members, ChatLine line, PeerId? except = null)
{
    foreach (var (peer, member) in members)
    {
        if (peer != except)
        {
            try
            {
                await member.SendAsync(line);
            }
            catch (Exception e) when (e is IOException or System.Threading.Channels.ChannelClosedException)
            {
                members.TryRemove(peer, out _);
            }
        }
    }
}

static async Task JoinAsync(NodeIdentity identity, PeerAddress address, bool tofu, string me)
{
    var options = new PeerConnectOptions { Identity = identity, Remote = address, TrustOnFirstUse = tofu };
    await using var chat = await MessagePeer.ConnectAsync<ChatLine>(options);
    Console.WriteLine($"connected to {chat.RemotePeer} (verified{(tofu && address.PeerId is null ? " on first use" : "")})");
    var printing = Task.Run(async () =>
    {
        await foreach (var line in chat.ReceiveAllAsync())
        {
            Console.WriteLine(line);
        }
    });
    while (Console.ReadLine() is { } text)
    {
        await chat.SendAsync(new ChatLine(me, text, DateTimeOffset.UtcNow));
        await chat.FlushAsync();
    }
}

static string? TakeOption(List<string> args, string name)
{
    int i = args.IndexOf(name);
    if (i < 0 || i + 1 >= args.Count)
    {
        return null;
    }
    string value = args[i + 1];
    args.RemoveRange(i, 2);
    return value;
}
