namespace Pinhole.Nat.Internal;

/// <summary>The one way parsers in this project report bad input: <see cref="PeerException"/> with <see cref="PeerError.ProtocolViolation"/>.</summary>
internal static class NatErrors
{
    internal static PeerException Malformed(string protocol, string detail) =>
        new(PeerError.ProtocolViolation, $"Malformed {protocol} message: {detail}");
}
