using Pinhole.Membership.Internal;

namespace Pinhole.Membership;

/// <summary>A request taken from this node's request space: decrypted, its sender verified and a member.</summary>
/// <param name="Id">The request's id (acknowledge it to delete it).</param>
/// <param name="Sender">Who sent it.</param>
/// <param name="CreatedAt">When it was written.</param>
/// <param name="Payload">The decrypted message.</param>
public sealed record ReceivedRequest(RecordId Id, PeerId Sender, DateTimeOffset CreatedAt, byte[] Payload);

public sealed partial class MembershipClient
{
    /// <summary>Default lifetime of a sealed request.</summary>
    public static readonly TimeSpan DefaultRequestLifetime = TimeSpan.FromDays(7);

    /// <summary>
    /// Leaves a message in <paramref name="recipient"/>'s request space, encrypted to the sealing key in its verified
    /// endpoint record (so the coordinator, which stores it until the recipient fetches it, cannot read it).
    /// </summary>
    public async Task<RecordId> SendRequestAsync(PeerId recipient, ReadOnlyMemory<byte> payload, TimeSpan? lifetime = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(recipient);
        var member = FindMember(recipient) ?? throw new MembershipException(MembershipError.Unknown, $"{recipient} is not a member of {Network}.");
        var key = member.Endpoint?.SealKey ?? default;
        if (key.IsEmpty)
        {
            throw new MembershipException(MembershipError.Unknown, $"{recipient} announces no sealing key, so it takes no sealed requests.");
        }
        var request = SealedRequest.Seal(_identity, Network, recipient, key.Span, payload.Span, _time.GetUtcNow(), lifetime ?? DefaultRequestLifetime);
        var client = await GetClientAsync(cancellationToken).ConfigureAwait(false);
        await client.PutRequestsAsync(Network, [request], cancellationToken).ConfigureAwait(false);
        return request.Id;
    }

    /// <summary>
    /// Fetches and decrypts the requests waiting in this node's request space. Requests that do not decrypt, or whose
    /// sender is not a member by this node's check, are deleted (and logged); the others stay until acknowledged.
    /// </summary>
    public async Task<IReadOnlyList<ReceivedRequest>> ReceiveRequestsAsync(CancellationToken cancellationToken = default)
    {
        var key = _options.SealingKey ?? throw new InvalidOperationException("No sealing key is configured (MembershipClientOptions.SealingKey).");
        var client = await GetClientAsync(cancellationToken).ConfigureAwait(false);
        var received = new List<ReceivedRequest>();
        var junk = new List<RecordId>();
        ulong cursor = 0;
        while (true)
        {
            var (page, next) = await client.GetRequestsAsync(Network, cursor, 100, cancellationToken).ConfigureAwait(false);
            foreach (var request in page)
            {
                if (!request.Recipient.Equals(LocalPeer) || !request.Network.Equals(Network))
                {
                    junk.Add(request.Id);
                    continue;
                }
                if (!IsMember(request.Sender))
                {
                    MembershipLog.RequestDropped(_logger, request.Sender, "the sender is not a member");
                    junk.Add(request.Id);
                    continue;
                }
                try
                {
                    received.Add(new ReceivedRequest(request.Id, request.Sender, request.CreatedAt, request.Open(key)));
                }
                catch (MembershipException e)
                {
                    MembershipLog.RequestDropped(_logger, request.Sender, e.Message);
                    junk.Add(request.Id);
                }
            }
            if (page.Count < 100 || next == cursor)
            {
                break;
            }
            cursor = next;
        }
        if (junk.Count > 0)
        {
            await client.DeleteRequestsAsync(Network, junk, cancellationToken).ConfigureAwait(false);
        }
        return received;
    }

    /// <summary>Deletes handled requests from this node's request space.</summary>
    public async Task<int> AcknowledgeRequestsAsync(IEnumerable<RecordId> ids, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var client = await GetClientAsync(cancellationToken).ConfigureAwait(false);
        return await client.DeleteRequestsAsync(Network, [.. ids], cancellationToken).ConfigureAwait(false);
    }
}
