using Pinhole.Protocols;

namespace Pinhole;

public sealed partial class PeerConnection
{
    /// <summary>The relay's limit for this connection, or null for an unlimited one.</summary>
    public ConnectionLimit? Limit { get; internal init; }

    /// <summary>
    /// True when a relay announced a <see cref="Limit"/> for this connection. Only ping, identify and the protocols in
    /// <see cref="PeerConnectionOptions.LimitedConnectionProtocols"/> run on it, both ways: other inbound streams are
    /// refused during negotiation and <see cref="OpenStreamAsync(string, CancellationToken)"/> fails with <see cref="PeerError.Refused"/>.
    /// </summary>
    public bool IsLimited => Limit is not null;

    /// <summary>True if <paramref name="protocol"/> may run on this connection (always, unless it is limited).</summary>
    public bool AllowsProtocol(string protocol)
        => Limit is null
            || protocol is PingProtocol.ProtocolId or IdentifyProtocol.ProtocolId
            || _options.LimitedConnectionProtocols.Contains(protocol);

    private void ThrowIfNotAllowed(string protocol)
    {
        if (!AllowsProtocol(protocol))
        {
            throw new PeerException(
                PeerError.Refused,
                $"The connection with {RemotePeer} is limited by its relay ({Limit}); {protocol} has not opted in to limited connections ({nameof(PeerConnectionOptions)}.{nameof(PeerConnectionOptions.LimitedConnectionProtocols)}).");
        }
    }
}
