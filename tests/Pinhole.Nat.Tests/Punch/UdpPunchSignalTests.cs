using System.Net;
using System.Text;

namespace Pinhole.Nat.Tests.Punch;

/// <summary>The signalling messages of the node's UDP hole punching: round trips and hostile input.</summary>
public sealed class UdpPunchSignalTests
{
    private static readonly UdpPunchOffer Offer = new(
        new UdpPunchCredentials("abcd1234", "0123456789abcdef0123"),
        NatMappingBehavior.AddressAndPortDependent,
        NatFilteringBehavior.AddressAndPortDependent,
        [
            new UdpCandidate(UdpCandidateKind.ServerReflexive, IPEndPoint.Parse("203.0.113.7:40000")),
            new UdpCandidate(UdpCandidateKind.Host, IPEndPoint.Parse("10.1.0.2:4001")),
            new UdpCandidate(UdpCandidateKind.PortMapped, IPEndPoint.Parse("[2001:db8::5]:4001")),
        ]);

    [Theory]
    [InlineData(false, UdpPunchMessageType.Offer)]
    [InlineData(true, UdpPunchMessageType.Answer)]
    public void An_offer_round_trips(bool answer, UdpPunchMessageType type)
    {
        byte[] wire = UdpPunchSignal.Encode(Offer, answer);
        UdpPunchMessage parsed = UdpPunchSignal.Parse(wire, out int consumed);
        Assert.Equal(wire.Length, consumed);
        Assert.Equal(type, parsed.Type);
        Assert.Equal(Offer.Credentials, parsed.Offer!.Credentials);
        Assert.Equal(Offer.Mapping, parsed.Offer.Mapping);
        Assert.Equal(Offer.Filtering, parsed.Offer.Filtering);
        Assert.Equal(Offer.Candidates, parsed.Offer.Candidates);
    }

    [Fact]
    public void A_refusal_carries_its_reason_cut_to_256_bytes()
    {
        UdpPunchMessage parsed = UdpPunchSignal.Parse(UdpPunchSignal.EncodeRefusal("no STUN layer"), out _);
        Assert.Equal(UdpPunchMessageType.Refused, parsed.Type);
        Assert.Equal("no STUN layer", parsed.Refusal);
        Assert.Equal(256, UdpPunchSignal.Parse(UdpPunchSignal.EncodeRefusal(new string('x', 1000)), out _).Refusal!.Length);
    }

    [Theory]
    [InlineData("203.0.113.9:49152", false, UdpPunchMessageType.TurnOffer)]
    [InlineData("[2001:db8::9]:3478", true, UdpPunchMessageType.TurnAnswer)]
    public void A_turn_address_round_trips(string relayed, bool answer, UdpPunchMessageType type)
    {
        UdpPunchMessage parsed = UdpPunchSignal.Parse(UdpPunchSignal.EncodeTurn(IPEndPoint.Parse(relayed), answer), out _);
        Assert.Equal(type, parsed.Type);
        Assert.Equal(IPEndPoint.Parse(relayed), parsed.Relayed);
    }

    [Fact]
    public void An_ipv4_mapped_candidate_is_sent_as_ipv4()
    {
        var offer = Offer with { Candidates = [new UdpCandidate(UdpCandidateKind.Host, new IPEndPoint(IPAddress.Parse("10.1.0.2").MapToIPv6(), 9))] };
        Assert.Equal(IPEndPoint.Parse("10.1.0.2:9"), UdpPunchSignal.Parse(UdpPunchSignal.Encode(offer), out _).Offer!.Candidates[0].EndPoint);
    }

    [Fact]
    public void Encoding_refuses_more_candidates_than_the_limit()
    {
        var many = Enumerable.Range(1, UdpPunchSignal.MaxCandidates + 1).Select(p => new UdpCandidate(UdpCandidateKind.Host, new IPEndPoint(IPAddress.Loopback, p))).ToList();
        Assert.Throws<ArgumentException>(() => UdpPunchSignal.Encode(Offer with { Candidates = many }));
    }

    public static TheoryData<string, byte[], string> Hostile()
    {
        byte[] good = UdpPunchSignal.Encode(Offer);
        byte[] Body(Action<List<byte>> change)
        {
            var body = good.Skip(UdpPunchSignal.HeaderLength).ToList();
            change(body);
            return [(byte)UdpPunchMessageType.Offer, (byte)(body.Count >> 8), (byte)body.Count, .. body];
        }
        int ufragAt = 0, mappingAt = 1 + 8 + 1 + 20, countAt = mappingAt + 2, firstCandidate = countAt + 1;
        return new TheoryData<string, byte[], string>
        {
            { "short header", [1, 0], "header is 3 bytes" },
            { "unknown type", [9, 0, 0], "unknown message type 9" },
            { "body over the limit", [1, 0x04, 0x01], "over the limit" },
            { "refusal over 256 bytes", [3, 0x01, 0x01], "over the limit" },
            { "body missing", [1, 0, 10, 1, 2], "only 2 present" },
            { "ufrag too short", Body(b => { b[ufragAt] = 2; }), "ufrag is 2 bytes" },
            { "ufrag with a colon", Body(b => { b[ufragAt + 1] = (byte)':'; }), "without ':'" },
            { "password truncated", good[..12], "only 9 present" },
            { "unknown mapping", Body(b => { b[mappingAt] = 77; }), "unknown NAT behaviour" },
            { "too many candidates", Body(b => { b[countAt] = 17; }), "17 candidates" },
            { "peer-reflexive candidate", Body(b => { b[firstCandidate] = (byte)UdpCandidateKind.PeerReflexive; }), "not sent" },
            { "bad family", Body(b => { b[firstCandidate + 1] = 5; }), "address family 5" },
            { "port zero", Body(b => { b[firstCandidate + 6] = 0; b[firstCandidate + 7] = 0; }), "port 0" },
            { "candidate truncated", Body(b => b.RemoveRange(b.Count - 3, 3)), "truncated in the" },
            { "trailing bytes", Body(b => b.Add(0)), "1 bytes after the last candidate" },
            { "turn offer truncated", [4, 0, 4, 4, 203, 0, 113], "truncated in the address" },
            { "turn offer port zero", [4, 0, 7, 4, 203, 0, 113, 9, 0, 0], "relayed address has port 0" },
            { "turn answer trailing", [5, 0, 8, 4, 203, 0, 113, 9, 1, 1, 7], "1 bytes after the relayed address" },
        };
    }

    [Theory]
    [MemberData(nameof(Hostile))]
    public void Hostile_input_fails_with_a_precise_protocol_violation(string name, byte[] wire, string expected)
    {
        var e = Assert.Throws<PeerException>(() => UdpPunchSignal.Parse(wire, out _));
        Assert.Equal(PeerError.ProtocolViolation, e.Error);
        Assert.True(e.Message.Contains(expected, StringComparison.Ordinal), $"{name}: {e.Message}");
    }

    [Fact]
    public void Every_truncation_of_a_good_offer_fails_cleanly()
    {
        byte[] good = UdpPunchSignal.Encode(Offer);
        for (int length = 0; length < good.Length; length++)
        {
            Assert.Throws<PeerException>(() => UdpPunchSignal.Parse(good.AsSpan(0, length), out _));
        }
        Assert.Equal("abcd1234", Encoding.ASCII.GetString(good, 4, 8));
    }
}
