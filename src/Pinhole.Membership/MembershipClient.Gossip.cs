using Pinhole.Membership.Internal;

namespace Pinhole.Membership;

/// <summary>The outcome of one gossip exchange.</summary>
/// <param name="InSync">Both sides held the same trust records already.</param>
/// <param name="Sent">Records this side sent.</param>
/// <param name="Received">Records this side received.</param>
/// <param name="Applied">Received records that were new and valid.</param>
public sealed record GossipResult(bool InSync, int Sent, int Received, int Applied);

public sealed partial class MembershipClient
{
    private const int GossipBytes = 3 * 1024 * 1024;
    private static readonly TimeSpan GossipTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Exchanges trust records (admin changes, memberships, revocations, redemptions) with a member over
    /// <see cref="CoordinatorMessage.GossipProtocol"/>: digests first, then the ids of both sets, then each side sends
    /// what the other lacks. Received records are verified like any other. A revocation or a second redemption that a
    /// coordinator shows to one member therefore reaches them all.
    /// </summary>
    /// <remarks>
    /// <code>
    /// initiator → Digest{network, digest}
    /// responder → Digest{digest}                        equal: done
    ///           | Inventory{ids}                        its sorted gossip ids
    /// initiator → Exchange{records it has and the responder lacks, ids it lacks}
    /// responder → Exchange{records for those ids}
    /// </code>
    /// </remarks>
    public async Task<GossipResult> GossipAsync(PeerConnection connection, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        if (!IsMember(connection.RemotePeer))
        {
            throw new MembershipException(MembershipError.Forbidden, $"{connection.RemotePeer} is not a member of {Network}; gossip is between members.");
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(GossipTimeout);
        var token = timeout.Token;
        var stream = await connection.OpenStreamAsync(CoordinatorMessage.GossipProtocol, token).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var (digest, mine) = Inventory();
            await new CoordinatorMessage(CoordinatorMessageType.Digest) { Network = Network, Digest = digest }.WriteAsync(stream, token).ConfigureAwait(false);
            var reply = await ReadGossipAsync(stream, connection.RemotePeer, token).ConfigureAwait(false);
            if (reply.Type == CoordinatorMessageType.Digest)
            {
                return new GossipResult(true, 0, 0, 0);
            }
            reply.Expect(CoordinatorMessageType.Inventory);
            var theirs = reply.Ids.ToHashSet();
            var wanted = reply.Ids.Where(id => !mine.Contains(id)).ToList();
            var offered = Pick(mine.Where(id => !theirs.Contains(id)));
            await new CoordinatorMessage(CoordinatorMessageType.Exchange) { Network = Network, Records = offered, Ids = wanted }.WriteAsync(stream, token).ConfigureAwait(false);
            stream.CompleteWrites();
            var answer = (await ReadGossipAsync(stream, connection.RemotePeer, token).ConfigureAwait(false)).Expect(CoordinatorMessageType.Exchange);
            var applied = ApplyGossip(answer.Records, connection.RemotePeer);
            MembershipLog.Gossiped(_logger, connection.RemotePeer, offered.Count, answer.Records.Count, applied);
            return new GossipResult(false, offered.Count, answer.Records.Count, applied);
        }
    }

    /// <summary>Serves one inbound <see cref="CoordinatorMessage.GossipProtocol"/> stream from <paramref name="remote"/> (a member, or it is refused).</summary>
    public async Task<GossipResult> ServeGossipAsync(PeerStream stream, PeerId remote, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(remote);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(GossipTimeout);
        var token = timeout.Token;
        var hello = (await ReadGossipAsync(stream, remote, token).ConfigureAwait(false)).Expect(CoordinatorMessageType.Digest);
        if (!Network.Equals(hello.Network))
        {
            await CoordinatorMessage.Failure(MembershipError.WrongNetwork, $"This stream serves {Network}.").WriteAsync(stream, token).ConfigureAwait(false);
            throw new MembershipException(MembershipError.WrongNetwork, $"{remote} gossips about {hello.Network}, not {Network}.");
        }
        if (!IsMember(remote))
        {
            await CoordinatorMessage.Failure(MembershipError.Forbidden, "Gossip is between members.").WriteAsync(stream, token).ConfigureAwait(false);
            throw new MembershipException(MembershipError.Forbidden, $"{remote} is not a member of {Network}; refused its gossip.");
        }
        var (digest, mine) = Inventory();
        if (hello.Digest.Span.SequenceEqual(digest.Span))
        {
            await new CoordinatorMessage(CoordinatorMessageType.Digest) { Network = Network, Digest = digest }.WriteAsync(stream, token).ConfigureAwait(false);
            stream.CompleteWrites();
            return new GossipResult(true, 0, 0, 0);
        }
        await new CoordinatorMessage(CoordinatorMessageType.Inventory) { Network = Network, Ids = [.. mine.Order()] }.WriteAsync(stream, token).ConfigureAwait(false);
        var exchange = (await ReadGossipAsync(stream, remote, token).ConfigureAwait(false)).Expect(CoordinatorMessageType.Exchange);
        var applied = ApplyGossip(exchange.Records, remote);
        var offered = Pick(exchange.Ids.Where(mine.Contains));
        await new CoordinatorMessage(CoordinatorMessageType.Exchange) { Network = Network, Records = offered }.WriteAsync(stream, token).ConfigureAwait(false);
        stream.CompleteWrites();
        MembershipLog.Gossiped(_logger, remote, offered.Count, exchange.Records.Count, applied);
        return new GossipResult(false, offered.Count, exchange.Records.Count, applied);
    }

    private (ReadOnlyMemory<byte> Digest, HashSet<RecordId> Ids) Inventory()
    {
        lock (_lock)
        {
            return (_state.GossipDigest(), [.. _state.GossipInventory()]);
        }
    }

    private List<ReadOnlyMemory<byte>> Pick(IEnumerable<RecordId> ids)
    {
        var picked = new List<ReadOnlyMemory<byte>>();
        var bytes = 0;
        lock (_lock)
        {
            foreach (var id in ids)
            {
                if (_state.Find(id) is not { } record || !NetworkState.IsGossiped(record.Kind))
                {
                    continue;
                }
                if (bytes + record.Encoded.Length > GossipBytes || picked.Count == CoordinatorMessage.MaxItems)
                {
                    break; // The rest goes in the next round.
                }
                picked.Add(record.Encoded);
                bytes += record.Encoded.Length;
            }
        }
        return picked;
    }

    private int ApplyGossip(IReadOnlyList<ReadOnlyMemory<byte>> blobs, PeerId from)
    {
        var records = new List<NetworkRecord>(blobs.Count);
        foreach (var blob in blobs)
        {
            try
            {
                var record = NetworkRecord.Decode(blob.Span);
                if (NetworkState.IsGossiped(record.Kind))
                {
                    records.Add(record);
                }
            }
            catch (Exception e) when (e is FormatException or MembershipException)
            {
                MembershipLog.Undecodable(_logger, $"gossip from {from}: {e.Message}");
            }
        }
        return Apply(records, "gossip from " + from, cursor: null).Count(r => r.Changed);
    }

    private static async Task<CoordinatorMessage> ReadGossipAsync(PeerStream stream, PeerId remote, CancellationToken cancellationToken) =>
        await CoordinatorMessage.ReadAsync(stream, CoordinatorMessage.MaxFrameLength, cancellationToken).ConfigureAwait(false)
            ?? throw new PeerException(PeerError.ConnectionClosed, $"{remote} closed the gossip stream early.");
}
