using System.Net;

namespace Pinhole.Nat;

/// <summary>The answer to a STUN request: the parsed response (success or error), where it came from, and the round trip.</summary>
/// <param name="Message">The response; check <see cref="StunMessage.Class"/>.</param>
/// <param name="Source">The address the response came from (RFC 5780 change requests make it differ from the server's).</param>
/// <param name="RoundTripTime">From the latest send of the request to the response.</param>
public sealed record StunResponse(StunMessage Message, EndPoint Source, TimeSpan RoundTripTime)
{
    /// <summary>True for a success response.</summary>
    public bool IsSuccess => Message.Class == StunClass.SuccessResponse;
}
