namespace Pinhole;

/// <summary>
/// Limits a relay announced for a connection it carries (circuit relay v2 <c>Limit</c>): how long it may last
/// and how many bytes it may carry in each direction. A connection with a limit is <em>limited</em>
/// (<see cref="PeerConnection.IsLimited"/>): only protocols that opted in run on it
/// (<see cref="PeerConnectionOptions.LimitedConnectionProtocols"/>), as in js-libp2p (<c>runOnLimitedConnection</c>)
/// and go-libp2p (<c>WithAllowLimitedConn</c>).
/// </summary>
/// <param name="Duration">Longest lifetime the relay allows, or null when it sets none. A hint: the relay enforces it.</param>
/// <param name="Data">Bytes the relay forwards per direction, or null when it sets none.</param>
public sealed record ConnectionLimit(TimeSpan? Duration, ulong? Data)
{
    /// <inheritdoc/>
    public override string ToString()
    {
        var duration = Duration is { } d ? $"{d.TotalSeconds:0.###} s" : "no duration limit";
        var data = Data is { } b ? $"{b} bytes per direction" : "no data limit";
        return $"{duration}, {data}";
    }
}
