namespace Pinhole;

/// <summary>
/// What a caller of <see cref="PeerConnection.UpgradeOutboundAsync"/> / <see cref="PeerConnection.UpgradeInboundAsync"/>
/// knows about the byte stream it hands over: the netlayer's name and addresses, and the relay's limit if any.
/// </summary>
public sealed class PeerUpgradeOptions
{
    /// <summary>Netlayer name reported by <see cref="PeerConnection.Netlayer"/>, e.g. <c>relay</c>. Default <c>tcp</c>.</summary>
    public string Netlayer { get; init; } = "tcp";

    /// <summary>Our side's address on this transport, if it has one.</summary>
    public Multiaddr? LocalAddress { get; init; }

    /// <summary>The peer's address as we see it (reported in identify as its observed address).</summary>
    public Multiaddr? RemoteAddress { get; init; }

    /// <summary>The relay's limit for this connection; non-null makes the connection limited.</summary>
    public ConnectionLimit? Limit { get; init; }

    /// <summary>The listen addresses identify reports to the peer (default: none).</summary>
    public Func<IReadOnlyList<Multiaddr>>? ListenAddresses { get; init; }

    internal static PeerUpgradeOptions Default { get; } = new();

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(Netlayer))
        {
            throw new ArgumentException($"{nameof(Netlayer)} must name the netlayer.", nameof(Netlayer));
        }
    }
}
