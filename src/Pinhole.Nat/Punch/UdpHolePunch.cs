using System.Net;

namespace Pinhole.Nat;

/// <summary>
/// UDP hole punching on the node's shared socket: both peers, having swapped credentials and candidates over
/// an authenticated channel, send authenticated STUN checks (RFC 8445 §7.2 style: USERNAME, MESSAGE-INTEGRITY
/// with the peer's short-term password, ICE-CONTROLLING/CONTROLLED, FINGERPRINT) to every candidate at once,
/// every <see cref="UdpPunchOptions.CheckInterval"/>. Each outgoing check opens this side's NAT towards the
/// peer; the first that crosses both NATs is answered. A check from an address not among the candidates makes
/// it a peer-reflexive candidate and is checked back at once (the triggered check that opens a NAT which
/// filters by address and port). The controlling side nominates the first pair that answered (USE-CANDIDATE);
/// the controlled side takes the nominated one. The result is a <see cref="UdpPath"/> that keeps the NATs open.
/// <para>
/// A NAT that maps per destination against one that filters by address and port is punched by birthday probing
/// (<see cref="UdpPunchOptions.BirthdaySockets"/>); two NATs that map per destination fail with a reason saying so,
/// and the caller falls back to a relay.
/// </para>
/// </summary>
public static class UdpHolePunch
{
    /// <summary>Punches to the peer through <paramref name="mux"/> and returns the path that answered, kept alive until disposed.</summary>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    /// <exception cref="UdpPunchException">No pair answered within <see cref="UdpPunchOptions.Timeout"/>; <see cref="UdpPunchException.Failure"/> says why.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async Task<UdpPath> PunchAsync(UdpMux mux, UdpPunchOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(mux);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var session = new PunchSession(mux, options);
        try
        {
            (UdpCandidate remote, TimeSpan? rtt) = await session.RunAsync(cancellationToken).ConfigureAwait(false);
            return new UdpPath(session, remote, rtt);
        }
        catch
        {
            await session.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Why two NATs with these behaviours (from each side's netcheck) cannot be punched directly, or null when
    /// they can or a behaviour is unknown. A NAT that maps per destination gives this peer a port nobody has
    /// seen; that only works when the other side lets in any port of its address (endpoint-independent or
    /// address-dependent filtering, or no NAT).
    /// </summary>
    public static UdpPunchFailure? PredictFailure(NatMappingBehavior localMapping, NatFilteringBehavior localFiltering, NatMappingBehavior remoteMapping, NatFilteringBehavior remoteFiltering)
    {
        static bool PerDestination(NatMappingBehavior m) => m is NatMappingBehavior.AddressDependent or NatMappingBehavior.AddressAndPortDependent;
        static bool FiltersPorts(NatMappingBehavior m, NatFilteringBehavior f) => m != NatMappingBehavior.NoNat && f == NatFilteringBehavior.AddressAndPortDependent;
        if (PerDestination(localMapping) && PerDestination(remoteMapping))
        {
            return UdpPunchFailure.BothMappingsEndpointDependent;
        }
        if ((PerDestination(localMapping) && FiltersPorts(remoteMapping, remoteFiltering)) || (PerDestination(remoteMapping) && FiltersPorts(localMapping, localFiltering)))
        {
            return UdpPunchFailure.EndpointDependentMappingAgainstFiltering;
        }
        return null;
    }

    internal static IPEndPoint Normalize(IPEndPoint endPoint) =>
        endPoint.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(endPoint.Address.MapToIPv4(), endPoint.Port) : endPoint;
}
