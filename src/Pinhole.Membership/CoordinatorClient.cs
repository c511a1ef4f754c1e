using System.Runtime.CompilerServices;

namespace Pinhole.Membership;

/// <summary>
/// The protocol side of talking to a coordinator over one authenticated connection: one stream per operation, and a
/// long-lived stream for the change subscription. It checks framing and error replies, not records: callers verify
/// every record themselves (<see cref="MembershipClient"/> does).
/// </summary>
public sealed class CoordinatorClient
{
    private readonly PeerConnection _connection;

    /// <summary>Talks to the coordinator at the other end of <paramref name="connection"/>.</summary>
    public CoordinatorClient(PeerConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        _connection = connection;
    }

    /// <summary>The coordinator's PeerId.</summary>
    public PeerId Coordinator => _connection.RemotePeer;

    /// <summary>The connection.</summary>
    public PeerConnection Connection => _connection;

    /// <summary>The genesis and admin changes the coordinator holds for <paramref name="network"/> (unverified), and its clock.</summary>
    public async Task<(IReadOnlyList<NetworkRecord> Chain, ulong Cursor, DateTimeOffset? Time)> GetNetworkAsync(NetworkId network, CancellationToken cancellationToken = default)
    {
        var reply = (await CallAsync(new CoordinatorMessage(CoordinatorMessageType.GetNetwork) { Network = network }, cancellationToken).ConfigureAwait(false))
            .Expect(CoordinatorMessageType.Network);
        var chain = reply.Records.Select(r => NetworkRecord.Decode(r.Span)).ToList();
        return (chain, reply.Cursor, reply.Time);
    }

    /// <summary>Redeems an invite for the connection's own key; returns the change sequence the redemption was stored at.</summary>
    public async Task<ulong> RedeemAsync(RedemptionRecord redemption, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(redemption);
        var reply = await CallAsync(new CoordinatorMessage(CoordinatorMessageType.Redeem) { Network = redemption.Network, Records = [redemption.Encoded] }, cancellationToken).ConfigureAwait(false);
        return reply.Expect(CoordinatorMessageType.Ok).Cursor;
    }

    /// <summary>Publishes records (an endpoint, or admin-signed records a node learnt by gossip).</summary>
    public async Task<ulong> PublishAsync(NetworkId network, IEnumerable<NetworkRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        var reply = await CallAsync(new CoordinatorMessage(CoordinatorMessageType.Publish) { Network = network, Records = [.. records.Select(r => r.Encoded)] }, cancellationToken).ConfigureAwait(false);
        return reply.Expect(CoordinatorMessageType.Ok).Cursor;
    }

    /// <summary>Leaves sealed requests in their recipients' request spaces.</summary>
    public async Task PutRequestsAsync(NetworkId network, IEnumerable<SealedRequest> requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var reply = await CallAsync(new CoordinatorMessage(CoordinatorMessageType.PutRequests) { Network = network, Requests = [.. requests.Select(r => r.Envelope.Encoded)] }, cancellationToken).ConfigureAwait(false);
        reply.Expect(CoordinatorMessageType.Ok);
    }

    /// <summary>Requests in the caller's own request space after <paramref name="after"/> (decoded and signature-checked, not decrypted).</summary>
    public async Task<(IReadOnlyList<SealedRequest> Requests, ulong Cursor)> GetRequestsAsync(NetworkId network, ulong after = 0, int limit = 100, CancellationToken cancellationToken = default)
    {
        var reply = (await CallAsync(new CoordinatorMessage(CoordinatorMessageType.GetRequests) { Network = network, Cursor = after, Limit = (ulong)Math.Max(1, limit) }, cancellationToken).ConfigureAwait(false))
            .Expect(CoordinatorMessageType.Requests);
        var requests = new List<SealedRequest>(reply.Requests.Count);
        foreach (var envelope in reply.Requests)
        {
            requests.Add(SealedRequest.Decode(envelope.Span));
        }
        return (requests, reply.Cursor);
    }

    /// <summary>Deletes requests from the caller's own request space; returns how many were deleted.</summary>
    public async Task<int> DeleteRequestsAsync(NetworkId network, IEnumerable<RecordId> ids, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var reply = await CallAsync(new CoordinatorMessage(CoordinatorMessageType.DeleteRequests) { Network = network, Ids = [.. ids] }, cancellationToken).ConfigureAwait(false);
        return (int)reply.Expect(CoordinatorMessageType.Ok).Cursor;
    }

    /// <summary>
    /// Subscribes to changes after <paramref name="cursor"/>: yields <see cref="CoordinatorMessageType.Changes"/> and
    /// <see cref="CoordinatorMessageType.Heartbeat"/> messages until the coordinator ends the stream; an error reply
    /// throws its <see cref="MembershipException"/>.
    /// </summary>
    public async IAsyncEnumerable<CoordinatorMessage> SubscribeAsync(NetworkId network, ulong cursor, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var stream = await _connection.OpenStreamAsync(CoordinatorMessage.Protocol, cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            await new CoordinatorMessage(CoordinatorMessageType.Subscribe) { Network = network, Cursor = cursor }.WriteAsync(stream, cancellationToken).ConfigureAwait(false);
            while (true)
            {
                var message = await CoordinatorMessage.ReadAsync(stream, CoordinatorMessage.MaxFrameLength, cancellationToken).ConfigureAwait(false);
                if (message is null)
                {
                    throw new PeerException(PeerError.ConnectionClosed, $"Coordinator {Coordinator} ended the subscription.");
                }
                if (message.Type == CoordinatorMessageType.Error)
                {
                    message.Expect(CoordinatorMessageType.Changes);
                }
                if (message.Type is not (CoordinatorMessageType.Changes or CoordinatorMessageType.Heartbeat))
                {
                    throw new PeerException(PeerError.ProtocolViolation, $"Coordinator {Coordinator} sent {message.Type} on a subscription.");
                }
                yield return message;
            }
        }
    }

    private async Task<CoordinatorMessage> CallAsync(CoordinatorMessage request, CancellationToken cancellationToken)
    {
        var stream = await _connection.OpenStreamAsync(CoordinatorMessage.Protocol, cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            await request.WriteAsync(stream, cancellationToken).ConfigureAwait(false);
            stream.CompleteWrites();
            return await CoordinatorMessage.ReadAsync(stream, CoordinatorMessage.MaxFrameLength, cancellationToken).ConfigureAwait(false)
                ?? throw new PeerException(PeerError.ConnectionClosed, $"Coordinator {Coordinator} closed the stream without answering {request.Type}.");
        }
    }
}
