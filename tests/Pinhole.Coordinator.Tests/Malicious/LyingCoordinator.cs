using System.Collections.Concurrent;
using Pinhole.Membership;

namespace Pinhole.Coordinator.Tests.Malicious;

/// <summary>
/// A coordinator double that speaks <c>/pinhole/coord/1</c> faithfully on the wire but serves whatever the test tells
/// it to: forged, swapped, replayed or withheld records, a different record set for each subscriber, redemptions it
/// never checks. It holds every key a compromised coordinator would hold (its own) and none it would not.
/// </summary>
internal sealed class LyingCoordinator : IAsyncDisposable
{
    private readonly PeerListener _listener;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _accept;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private LyingCoordinator(PeerListener listener, NodeIdentity identity)
    {
        _listener = listener;
        Identity = identity;
        _accept = Task.Run(AcceptAsync);
    }

    public NodeIdentity Identity { get; }

    public Multiaddr Address => _listener.GetDialableAddresses().First(a => a.ToString().StartsWith("/ip4/127.0.0.1/", StringComparison.Ordinal));

    /// <summary>What GetNetwork answers (genesis first, normally).</summary>
    public List<NetworkRecord> Chain { get; } = [];

    /// <summary>Records every subscriber gets, unless <see cref="FeedFor"/> says otherwise.</summary>
    public List<NetworkRecord> Records { get; } = [];

    /// <summary>Per-subscriber record lists (to withhold or split views).</summary>
    public ConcurrentDictionary<PeerId, List<NetworkRecord>> FeedFor { get; } = new();

    /// <summary>Every redemption accepted (it accepts all of them: no single-winner rule).</summary>
    public ConcurrentQueue<RedemptionRecord> Redeemed { get; } = new();

    public static async Task<LyingCoordinator> StartAsync()
    {
        var identity = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var listener = await PeerListener.ListenAsync(Server.Generous.Listen(identity));
        return new LyingCoordinator(listener, identity);
    }

    /// <summary>Wakes subscribers to send what was added.</summary>
    public void Changed() => Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    public InviteCode Invite(TestNetwork net, NodeIdentity? issuer = null)
    {
        var key = InviteCode.GenerateKey();
        var (v4, v6) = net.NextAddresses();
        var now = DateTimeOffset.UtcNow;
        return InviteCode.Create(Pinhole.Membership.Invite.Create(issuer ?? net.Admin, net.Id, key.PublicKey, [Address], v4, v6, ["all"], now, now.AddDays(1), now.AddDays(30)), key);
    }

    private async Task AcceptAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            PeerConnection connection;
            try
            {
                connection = await _listener.AcceptAsync(_stopping.Token);
            }
            catch (Exception)
            {
                return;
            }
            _ = Task.Run(async () =>
            {
                await using (connection)
                {
                    try
                    {
                        while (true)
                        {
                            var stream = await connection.AcceptStreamAsync(_stopping.Token);
                            _ = Task.Run(() => ServeAsync(connection.RemotePeer, stream));
                        }
                    }
                    catch (Exception)
                    {
                    }
                }
            });
        }
    }

    private async Task ServeAsync(PeerId caller, PeerStream stream)
    {
        await using (stream)
        {
            try
            {
                var request = (await CoordinatorMessage.ReadAsync(stream))!;
                switch (request.Type)
                {
                    case CoordinatorMessageType.GetNetwork:
                        await Reply(stream, new CoordinatorMessage(CoordinatorMessageType.Network) { Network = request.Network, Records = [.. Chain.Select(r => r.Encoded)] });
                        break;
                    case CoordinatorMessageType.Redeem:
                        Redeemed.Enqueue((RedemptionRecord)NetworkRecord.Decode(request.Records[0].Span));
                        await Reply(stream, new CoordinatorMessage(CoordinatorMessageType.Ok) { Network = request.Network });
                        break;
                    case CoordinatorMessageType.Publish:
                        await Reply(stream, new CoordinatorMessage(CoordinatorMessageType.Ok) { Network = request.Network });
                        break;
                    case CoordinatorMessageType.Subscribe:
                        var cursor = (int)request.Cursor;
                        while (!_stopping.IsCancellationRequested)
                        {
                            var changed = _changed.Task;
                            var records = FeedFor.TryGetValue(caller, out var own) ? own : Records;
                            List<NetworkRecord> batch;
                            lock (records)
                            {
                                batch = [.. records.Skip(cursor)];
                            }
                            cursor += batch.Count;
                            await new CoordinatorMessage(CoordinatorMessageType.Changes)
                            {
                                Network = request.Network,
                                Cursor = (ulong)cursor,
                                Records = [.. batch.Select(r => r.Encoded)],
                                CaughtUp = true,
                            }.WriteAsync(stream);
                            await changed.WaitAsync(_stopping.Token);
                        }
                        break;
                    default:
                        await Reply(stream, CoordinatorMessage.Failure(MembershipError.Malformed, "no"));
                        break;
                }
            }
            catch (Exception)
            {
            }
        }
    }

    private static async Task Reply(PeerStream stream, CoordinatorMessage message)
    {
        await message.WriteAsync(stream);
        stream.CompleteWrites();
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await _listener.DisposeAsync();
        try
        {
            await _accept;
        }
        catch (Exception)
        {
        }
        Identity.Dispose();
    }
}

/// <summary>Runs one gossip exchange between two members over an in-memory authenticated connection.</summary>
internal static class Gossip
{
    public static async Task<GossipResult> ExchangeAsync(MembershipClient initiator, NodeIdentity initiatorKey, MembershipClient responder, NodeIdentity responderKey)
    {
        var (dialer, listener) = MemoryNetwork.CreatePair(new PeerConnectionOptions { Identity = initiatorKey }, new PeerConnectionOptions { Identity = responderKey });
        await using (dialer)
        await using (listener)
        {
            var serve = Task.Run(async () =>
            {
                await using var stream = await listener.AcceptStreamAsync();
                return await responder.ServeGossipAsync(stream, listener.RemotePeer);
            });
            var result = await initiator.GossipAsync(dialer);
            await serve;
            return result;
        }
    }
}
