using Pinhole.Coordinator.Internal;
using Pinhole.Membership;

namespace Pinhole.Coordinator;

public sealed partial class CoordinatorServer
{
    private const int MaxRequestFrame = 1024 * 1024;
    private static readonly TimeSpan FirstMessageTimeout = TimeSpan.FromSeconds(30);

    private async Task ServeStreamAsync(PeerConnection connection, PeerStream stream)
    {
        var caller = connection.RemotePeer;
        var operation = "stream";
        await using (stream.ConfigureAwait(false))
        {
            try
            {
                CoordinatorMessage? request;
                using (var first = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token))
                {
                    first.CancelAfter(FirstMessageTimeout);
                    request = await CoordinatorMessage.ReadAsync(stream, MaxRequestFrame, first.Token).ConfigureAwait(false);
                }
                if (request is null)
                {
                    return;
                }
                operation = request.Type.ToString();
                var reply = request.Type switch
                {
                    CoordinatorMessageType.Subscribe => await SubscribeAsync(caller, stream, request).ConfigureAwait(false),
                    CoordinatorMessageType.GetNetwork => await GetNetworkAsync(request).ConfigureAwait(false),
                    CoordinatorMessageType.Publish => await PublishAsync(caller, request).ConfigureAwait(false),
                    CoordinatorMessageType.Redeem => await RedeemAsync(caller, request).ConfigureAwait(false),
                    CoordinatorMessageType.PutRequests => await PutRequestsAsync(caller, request).ConfigureAwait(false),
                    CoordinatorMessageType.GetRequests => await GetRequestsAsync(caller, request).ConfigureAwait(false),
                    CoordinatorMessageType.DeleteRequests => await DeleteRequestsAsync(caller, request).ConfigureAwait(false),
                    _ => CoordinatorMessage.Failure(MembershipError.Malformed, $"{request.Type} is not a request."),
                };
                if (reply is not null)
                {
                    await SendAsync(stream, reply.Encode()).ConfigureAwait(false);
                    stream.CompleteWrites();
                }
            }
            catch (MembershipException e)
            {
                CoordinatorLog.Refused(_logger, operation, caller, e.Reason, e.Message);
                await TrySendAsync(stream, CoordinatorMessage.Failure(e.Reason, e.Message)).ConfigureAwait(false);
            }
            catch (FormatException e)
            {
                CoordinatorLog.Refused(_logger, operation, caller, MembershipError.Malformed, e.Message);
                await TrySendAsync(stream, CoordinatorMessage.Failure(MembershipError.Malformed, e.Message)).ConfigureAwait(false);
            }
            catch (Exception e) when (e is PeerException or IOException or OperationCanceledException or ObjectDisposedException)
            {
                CoordinatorLog.StreamEnded(_logger, stream.Protocol, caller, e.Message);
            }
            catch (Exception e)
            {
                CoordinatorLog.Failed(_logger, operation, caller, e);
                await TrySendAsync(stream, CoordinatorMessage.Failure(MembershipError.Internal, "The coordinator failed internally.")).ConfigureAwait(false);
            }
        }
    }

    private async Task SendAsync(PeerStream stream, byte[] encoded)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        timeout.CancelAfter(_options.SendTimeout);
        await CoordinatorMessage.WriteFrameAsync(stream, encoded, timeout.Token).ConfigureAwait(false);
    }

    private async Task TrySendAsync(PeerStream stream, CoordinatorMessage message)
    {
        try
        {
            await SendAsync(stream, message.Encode()).ConfigureAwait(false);
            stream.CompleteWrites();
        }
        catch (Exception e) when (e is PeerException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The stream is gone; nobody to tell.
        }
    }

    private async Task<NetworkFeed> RequireFeedAsync(CoordinatorMessage request)
    {
        var network = request.Network ?? throw new MembershipException(MembershipError.Malformed, $"{request.Type} names no network.");
        return await GetFeedAsync(network, _stopping.Token).ConfigureAwait(false)
            ?? throw new MembershipException(MembershipError.Unknown, $"Network {network} is not known to this coordinator.");
    }

    private static void RequireMember(NetworkFeed feed, PeerId caller, string what)
    {
        var view = feed.View();
        if (!view.IsMember(caller))
        {
            throw view.Revoked.ContainsKey(caller)
                ? new MembershipException(MembershipError.Revoked, $"{caller} is revoked from {feed.Network}.")
                : new MembershipException(MembershipError.Forbidden, $"{what} is for members of {feed.Network}; {caller} is not one.");
        }
    }

    private async Task<CoordinatorMessage> GetNetworkAsync(CoordinatorMessage request)
    {
        // Anyone who knows a network's id may read its genesis and admin chain: a joining node needs them before it is a member.
        var feed = await RequireFeedAsync(request).ConfigureAwait(false);
        List<ReadOnlyMemory<byte>> chain;
        lock (feed.Sync)
        {
            chain = [.. feed.State.Chain.Select(r => r.Encoded)];
        }
        return new CoordinatorMessage(CoordinatorMessageType.Network)
        {
            Network = feed.Network,
            Records = chain,
            Cursor = feed.Known,
            Time = _time.GetUtcNow(),
        };
    }
}
