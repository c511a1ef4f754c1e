namespace Pinhole.Node;

/// <summary>A connection under the manager's care: the connection plus its bookkeeping.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The token source has no timer; it is only cancelled.")]
internal sealed class ManagedConnection
{
    private readonly CancellationTokenSource _serving = new();
    private int _handlers;

    public ManagedConnection(long id, PeerConnection connection, ConnectionPathKind path, DateTimeOffset opened)
    {
        Id = id;
        Connection = connection;
        Path = path;
        Opened = opened;
    }

    public long Id { get; }

    public PeerConnection Connection { get; }

    public PeerId Peer => Connection.RemotePeer;

    public ConnectionPathKind Path { get; }

    public DateTimeOffset Opened { get; }

    /// <summary>Set under the manager's lock.</summary>
    public DateTimeOffset? DrainingSince { get; set; }

    /// <summary>Why the node closed it (shown in the disconnect event), or null if the peer or the network did.</summary>
    public string? CloseNote { get; set; }

    /// <summary>Set under the manager's lock once the manager has seen it close.</summary>
    public bool Closed { get; set; }

    /// <summary>The PeerId of the side that dialled.</summary>
    public PeerId Dialer => Connection.IsInbound ? Connection.RemotePeer : Connection.LocalPeer;

    /// <summary>Cancelled when the connection closes or the node stops: handler tokens.</summary>
    public CancellationToken Serving => _serving.Token;

    public int RunningHandlers => Volatile.Read(ref _handlers);

    public void HandlerStarted() => Interlocked.Increment(ref _handlers);

    public void HandlerEnded() => Interlocked.Decrement(ref _handlers);

    public void StopServing()
    {
        try
        {
            _serving.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public NodeConnectionInfo Snapshot() => new(
        Id,
        Connection.RemotePeer,
        Connection.IsInbound ? ConnectionDirection.Inbound : ConnectionDirection.Outbound,
        Connection.Netlayer,
        Path,
        CloseNote is not null ? ConnectionState.Closing : DrainingSince is null ? ConnectionState.Active : ConnectionState.Draining,
        Connection.LocalAddress,
        Connection.RemoteAddress,
        Opened,
        Connection.RoundTripTime,
        Connection.BytesSent,
        Connection.BytesReceived,
        Connection.OpenStreamCount);

    /// <summary>
    /// The one-connection-per-peer rule (docs/node.md): a direct path beats a relayed one; between two
    /// connections dialled by different sides, the one dialled by the smaller PeerId wins (both ends compute
    /// the same answer); between two dialled by the same side, the newer wins (it replaces a stale one).
    /// </summary>
    public static bool IsBetter(ManagedConnection candidate, ManagedConnection current)
    {
        if (candidate.Path != current.Path)
        {
            return candidate.Path == ConnectionPathKind.Direct;
        }
        if (!candidate.Dialer.Equals(current.Dialer))
        {
            return PeerIdOrder.Compare(candidate.Dialer, current.Dialer) < 0;
        }
        return candidate.Id > current.Id;
    }
}

/// <summary>The order of PeerIds used to settle crossed dials: their binary multihashes, byte by byte.</summary>
public static class PeerIdOrder
{
    /// <summary>Negative if <paramref name="a"/> sorts before <paramref name="b"/>.</summary>
    public static int Compare(PeerId a, PeerId b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        return a.Multihash.Span.SequenceCompareTo(b.Multihash.Span);
    }
}
