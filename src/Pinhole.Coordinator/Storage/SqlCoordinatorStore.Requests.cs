using Pinhole.Membership;

namespace Pinhole.Coordinator.Storage;

internal abstract partial class SqlCoordinatorStore
{
    public override async Task<StoreWrite> PutRequestAsync(SealedRequest request, int maxPerRecipient, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var net = request.Network.Bytes.ToArray();
        var recipient = request.Recipient.Multihash.ToArray();
        return await WriteAsync(async (c, t) =>
        {
            if (await ScalarAsync(c, t, "SELECT 1 FROM networks WHERE id = @net", cancellationToken, ("net", net)).ConfigureAwait(false) is null)
            {
                return (StoreWrite.UnknownNetwork, false);
            }
            if (await ScalarAsync(c, t, "SELECT 1 FROM requests WHERE net = @net AND id = @id", cancellationToken, ("net", net), ("id", request.Id.Memory.ToArray())).ConfigureAwait(false) is not null)
            {
                return (StoreWrite.Duplicate, false);
            }
            var held = await ScalarAsync(c, t, "SELECT COUNT(*) FROM requests WHERE net = @net AND recipient = @r", cancellationToken, ("net", net), ("r", recipient)).ConfigureAwait(false);
            if (Convert.ToInt64(held, System.Globalization.CultureInfo.InvariantCulture) >= maxPerRecipient)
            {
                return (StoreWrite.Full, false);
            }
            await ExecuteAsync(c, t, "INSERT INTO requests (net, id, recipient, sender, expires, blob) VALUES (@net, @id, @r, @s, @e, @b)", cancellationToken,
                ("net", net), ("id", request.Id.Memory.ToArray()), ("r", recipient), ("s", request.Sender.Multihash.ToArray()),
                ("e", request.ExpiresAt.ToUnixTimeSeconds()), ("b", request.Envelope.Encoded.ToArray())).ConfigureAwait(false);
            await NotifyRequestAsync(c, t, request.Network, request.Recipient, cancellationToken).ConfigureAwait(false);
            return (StoreWrite.Stored, true);
        }, cancellationToken).ConfigureAwait(false);
    }

    public override async Task<IReadOnlyList<StoredRequest>> GetRequestsAsync(NetworkId network, PeerId recipient, ulong after, int limit, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(recipient);
        var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var command = Command(connection, null,
            "SELECT seq, blob FROM requests WHERE net = @net AND recipient = @r AND seq > @after AND expires >= @now ORDER BY seq LIMIT @limit",
            ("net", network.Bytes.ToArray()), ("r", recipient.Multihash.ToArray()), ("after", (long)after), ("now", now.ToUnixTimeSeconds()), ("limit", limit));
        await using var commandScope = command.ConfigureAwait(false);
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        var requests = new List<StoredRequest>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            requests.Add(new StoredRequest((ulong)reader.GetInt64(0), (byte[])reader.GetValue(1)));
        }
        return requests;
    }

    public override async Task<int> CountRequestsAsync(NetworkId network, PeerId recipient, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(recipient);
        var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var count = await ScalarAsync(connection, null, "SELECT COUNT(*) FROM requests WHERE net = @net AND recipient = @r AND expires >= @now", cancellationToken,
            ("net", network.Bytes.ToArray()), ("r", recipient.Multihash.ToArray()), ("now", now.ToUnixTimeSeconds())).ConfigureAwait(false);
        return Convert.ToInt32(count, System.Globalization.CultureInfo.InvariantCulture);
    }

    public override async Task<int> DeleteRequestsAsync(NetworkId network, PeerId recipient, IReadOnlyList<RecordId> ids, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(recipient);
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.Count == 0)
        {
            return 0;
        }
        var net = network.Bytes.ToArray();
        var r = recipient.Multihash.ToArray();
        return await WriteAsync(async (c, t) =>
        {
            var deleted = 0;
            foreach (var id in ids)
            {
                // The recipient condition is the access check: nobody deletes another node's requests.
                deleted += await ExecuteAsync(c, t, "DELETE FROM requests WHERE net = @net AND recipient = @r AND id = @id", cancellationToken,
                    ("net", net), ("r", r), ("id", id.Memory.ToArray())).ConfigureAwait(false);
            }
            return (deleted, true);
        }, cancellationToken).ConfigureAwait(false);
    }
}
