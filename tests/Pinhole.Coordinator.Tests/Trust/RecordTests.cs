using System.Net;
using Pinhole.Membership;

namespace Pinhole.Coordinator.Tests.Trust;

public class RecordTests
{
    private static readonly DateTimeOffset T0 = TestNetwork.T0;

    [Fact]
    public void EveryKindRoundTripsThroughItsBlob()
    {
        using var net = new TestNetwork(admins: 2, threshold: 2, issuers: 1);
        using var node = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var seal = SealingKey.Generate();
        var (invite, inviteKey) = net.Invite();
        NetworkRecord[] records =
        [
            net.Genesis,
            AdminChangeRecord.Create(net.Id, 1, net.Genesis.Id, new AdminSet(net.AdminKeys.Select(k => k.PublicKey), 1), T0, net.AdminKeys),
            net.Member(node.PeerId, groups: ["web", "db"]),
            net.Revoke(node.PeerId),
            net.Redeem(invite, inviteKey, node.PeerId),
            TestNetwork.Endpoint(node, net.Id, 7, seal: seal),
        ];
        foreach (var record in records)
        {
            var decoded = NetworkRecord.Decode(record.Encoded.Span);
            Assert.Equal(record.Kind, decoded.Kind);
            Assert.Equal(record.Id, decoded.Id);
            Assert.Equal(net.Id, decoded.Network);
            Assert.Equal(record.Encoded.ToArray(), decoded.Encoded.ToArray());
        }
        var member = (MembershipRecord)NetworkRecord.Decode(records[2].Encoded.Span);
        Assert.Equal(["db", "web"], member.Groups);
        Assert.Equal(node.PeerId, member.Peer);
        Assert.Equal(net.Admin.PeerId, member.Issuer);
        var endpoint = (EndpointRecord)NetworkRecord.Decode(records[5].Encoded.Span);
        Assert.Equal(7UL, endpoint.Sequence);
        Assert.Equal(seal.PublicKey.ToArray(), endpoint.SealKey.ToArray());
        Assert.Equal(EndpointNatType.EndpointIndependent, endpoint.NatType);
        Assert.Equal(2, net.Genesis.Envelopes.Count);
    }

    [Fact]
    public void TheNetworkIdIsTheGenesisIdAndRoundTripsAsText()
    {
        using var net = new TestNetwork();
        var text = net.Id.ToString();
        Assert.StartsWith("pn", text, StringComparison.Ordinal);
        Assert.Equal(NetworkId.TextLength, text.Length);
        Assert.Equal(net.Id, NetworkId.Parse(text));
        Assert.Equal(net.Id, NetworkId.Parse(text.ToUpperInvariant()[..2].ToLowerInvariant() + text[2..].ToUpperInvariant()));
        Assert.Equal(net.Genesis.Id.Span.ToArray(), net.Id.Bytes.ToArray());
        Assert.Throws<FormatException>(() => NetworkId.Parse("pn" + new string('a', 51)));
        Assert.Throws<FormatException>(() => NetworkId.Parse("xx" + text[2..]));
        Assert.Throws<FormatException>(() => NetworkId.Parse(text[..^1] + "1"));
    }

    [Fact]
    public void TheRecordIdIgnoresSignaturesSoReSigningIsNotANewRecord()
    {
        using var ecdsa = NodeIdentity.Generate(Libp2pKeyType.Ecdsa);
        using var net = new TestNetwork();
        var payload = net.Member(ecdsa.PeerId).Envelopes[0].Payload.ToArray();
        // ECDSA signatures are randomized: two signatures over one payload, one record id.
        var a = Forge.Sign(net.Admin, "pinhole-membership-v1", "/pinhole/membership/1", payload);
        var b = Forge.Sign(net.Admin, "pinhole-membership-v1", "/pinhole/membership/1", payload);
        var ra = NetworkRecord.Decode(Forge.Blob(RecordKind.Membership, a));
        var rb = NetworkRecord.Decode(Forge.Blob(RecordKind.Membership, b));
        Assert.Equal(ra.Id, rb.Id);
    }

    [Fact]
    public void AnAlteredPayloadUnderTheOriginalSignatureIsRejected()
    {
        using var net = new TestNetwork();
        using var node = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var member = net.Member(node.PeerId);
        var tampered = Forge.FlipPayloadByte(member.Envelopes[0], member.Envelopes[0].Payload.Length - 1);
        var e = Assert.Throws<MembershipException>(() => NetworkRecord.Decode(Forge.Blob(3, tampered)));
        Assert.Equal(MembershipError.BadSignature, e.Reason);
    }

    [Fact]
    public void ASwappedSignerKeyIsRejected()
    {
        using var net = new TestNetwork();
        using var node = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var attacker = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var member = net.Member(node.PeerId);
        var swapped = Forge.SwapKey(member.Envelopes[0], attacker.PublicKey);
        Assert.Equal(MembershipError.BadSignature, Assert.Throws<MembershipException>(() => NetworkRecord.Decode(Forge.Blob(3, swapped))).Reason);
    }

    [Fact]
    public void ASignatureForOneKindCannotBeReadAsAnother()
    {
        using var net = new TestNetwork();
        using var node = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var member = net.Member(node.PeerId).Envelopes[0];
        // Same bytes offered as a revocation: the payload type says membership.
        Assert.Throws<FormatException>(() => NetworkRecord.Decode(Forge.Blob(4, member.Encoded.ToArray())));
        // Re-labelled as a revocation: the signature was made for the membership domain.
        var relabelled = Forge.Relabel(member, "/pinhole/revocation/1");
        Assert.Equal(MembershipError.BadSignature, Assert.Throws<MembershipException>(() => NetworkRecord.Decode(Forge.Blob(4, relabelled))).Reason);
        // A payload signed for the right type but the wrong domain.
        var wrongDomain = Forge.Sign(net.Admin, "pinhole-revocation-v1", "/pinhole/membership/1", member.Payload.ToArray());
        Assert.Equal(MembershipError.BadSignature, Assert.Throws<MembershipException>(() => NetworkRecord.Decode(Forge.Blob(RecordKind.Membership, wrongDomain))).Reason);
        // A libp2p peer record envelope is not a Pinhole endpoint envelope.
        var peerRecord = new PeerRecord(node.PeerId, 1, [Multiaddr.Parse("/ip4/127.0.0.1/tcp/1")]).Seal(node);
        Assert.Throws<FormatException>(() => NetworkRecord.Decode(Forge.Blob(RecordKind.Endpoint, peerRecord, peerRecord)));
    }

    [Fact]
    public void DecodersAreStrict()
    {
        using var net = new TestNetwork();
        using var node = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        byte[] Signed(Pinhole.Codecs.ProtobufWriter w) => Forge.Blob(RecordKind.Membership, Forge.Sign(net.Admin, "pinhole-membership-v1", "/pinhole/membership/1", w.ToArray()));

        var ok = Forge.MembershipPayload(net.Id, node.PeerId, 1_000, 2_000);
        Assert.IsType<MembershipRecord>(NetworkRecord.Decode(Signed(ok)));

        var unknown = Forge.MembershipPayload(net.Id, node.PeerId, 1_000, 2_000);
        unknown.WriteVarint(30, 1);
        Assert.Contains("unknown field 30", Assert.Throws<FormatException>(() => NetworkRecord.Decode(Signed(unknown))).Message);

        var twice = Forge.MembershipPayload(net.Id, node.PeerId, 1_000, 2_000);
        twice.WriteVarint(7, 9_000);
        Assert.Contains("more than once", Assert.Throws<FormatException>(() => NetworkRecord.Decode(Signed(twice))).Message);

        var noAddress = Forge.MembershipPayload(net.Id, node.PeerId, 1_000, 2_000, ipv4: false);
        Assert.Contains("virtual address", Assert.Throws<FormatException>(() => NetworkRecord.Decode(Signed(noAddress))).Message);

        var backwards = Forge.MembershipPayload(net.Id, node.PeerId, 2_000, 1_000);
        Assert.Contains("not_after", Assert.Throws<FormatException>(() => NetworkRecord.Decode(Signed(backwards))).Message);

        var tooLong = Forge.MembershipPayload(net.Id, node.PeerId, 1_000, 1_000 + 401UL * 86_400);
        Assert.Contains("400 days", Assert.Throws<FormatException>(() => NetworkRecord.Decode(Signed(tooLong))).Message);

        var farFuture = Forge.MembershipPayload(net.Id, node.PeerId, 1_000, ulong.MaxValue);
        Assert.Contains("9999", Assert.Throws<FormatException>(() => NetworkRecord.Decode(Signed(farFuture))).Message);

        var badGroup = Forge.MembershipPayload(net.Id, node.PeerId, 1_000, 2_000);
        badGroup.WriteString(5, "no spaces");
        Assert.Contains("group", Assert.Throws<FormatException>(() => NetworkRecord.Decode(Signed(badGroup))).Message);

        var shortNetwork = new Pinhole.Codecs.ProtobufWriter();
        shortNetwork.WriteBytes(1, new byte[31]);
        Assert.Contains("network id", Assert.Throws<FormatException>(() => NetworkRecord.Decode(Signed(shortNetwork))).Message);
    }

    [Fact]
    public void BlobsAreStrictAndBounded()
    {
        using var net = new TestNetwork();
        Assert.Contains("unknown record kind", Assert.Throws<FormatException>(() => NetworkRecord.Decode(Forge.Blob(99, net.Genesis.Envelopes[0].Encoded.ToArray()))).Message);
        Assert.Contains("envelope", Assert.Throws<FormatException>(() => NetworkRecord.Decode(Forge.Blob(1))).Message);
        var manyEnvelopes = Enumerable.Repeat(net.Genesis.Envelopes[0].Encoded.ToArray(), 17).ToArray();
        Assert.Contains("more than 16", Assert.Throws<FormatException>(() => NetworkRecord.Decode(Forge.Blob(1, manyEnvelopes))).Message);
        Assert.Throws<FormatException>(() => NetworkRecord.Decode(new byte[NetworkRecord.MaxEncodedLength + 1]));
        Assert.Throws<FormatException>(() => NetworkRecord.Decode([0x08]));
        Assert.Throws<FormatException>(() => NetworkRecord.Decode([0x08, 0x01, 0x12, 0x05, 0x01]));
        var blob = net.Genesis.Encoded.ToArray();
        for (var cut = 0; cut < blob.Length; cut += 7)
        {
            Assert.ThrowsAny<Exception>(() => NetworkRecord.Decode(blob.AsSpan(0, cut)));
        }
    }

    [Fact]
    public void GenesisNeedsAThresholdOfItsOwnAdmins()
    {
        using var a = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var b = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var stranger = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var set = new AdminSet([a.PublicKey, b.PublicKey], 2);
        var e = Assert.Throws<MembershipException>(() => GenesisRecord.Create("n", set, IPNetwork.Parse("10.0.0.0/8"), null, T0, [a]));
        Assert.Equal(MembershipError.ThresholdNotMet, e.Reason);
        e = Assert.Throws<MembershipException>(() => GenesisRecord.Create("n", set, IPNetwork.Parse("10.0.0.0/8"), null, T0, [a, stranger]));
        Assert.Equal(MembershipError.Unauthorized, e.Reason);
        Assert.Throws<ArgumentException>(() => new AdminSet([a.PublicKey], 2));
        Assert.Throws<ArgumentException>(() => new AdminSet([a.PublicKey], 1, [a.PublicKey]));
        Assert.Throws<ArgumentException>(() => GenesisRecord.Create("n", new AdminSet([a.PublicKey], 1), null, null, T0, [a]));
        Assert.Throws<ArgumentException>(() => GenesisRecord.Create("n", new AdminSet([a.PublicKey], 1), IPNetwork.Parse("10.0.0.0/31"), null, T0, [a]));
        // Two envelopes by one admin do not make two votes.
        var g = GenesisRecord.Create("n", new AdminSet([a.PublicKey, b.PublicKey], 1), IPNetwork.Parse("10.0.0.0/8"), null, T0, [a]);
        var again = Forge.Sign(a, "pinhole-genesis-v1", "/pinhole/genesis/1", g.Payload.ToArray());
        Assert.Contains("more than once", Assert.Throws<FormatException>(() => NetworkRecord.Decode(Forge.Blob(RecordKind.Genesis, g.Envelopes[0], again))).Message);
    }

    [Fact]
    public void EndpointPartsMustBelongTogether()
    {
        using var net = new TestNetwork();
        using var node = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var other = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var mine = TestNetwork.Endpoint(node, net.Id, 5);
        var theirs = TestNetwork.Endpoint(other, net.Id, 5);
        // The peer record of one node with the Pinhole envelope of another: signers differ.
        var e = Assert.Throws<MembershipException>(() => NetworkRecord.Decode(Forge.Blob(RecordKind.Endpoint, mine.Envelopes[0], theirs.Envelopes[1])));
        Assert.Equal(MembershipError.BadSignature, e.Reason);
        // Another peer record of the same node: the hash binding fails.
        var newer = TestNetwork.Endpoint(node, net.Id, 6, "/ip4/10.9.9.9/tcp/1");
        Assert.Contains("hash", Assert.Throws<FormatException>(() => NetworkRecord.Decode(Forge.Blob(RecordKind.Endpoint, newer.Envelopes[0], mine.Envelopes[1]))).Message);
        // A peer record signed by a key that is not its peer id.
        var lie = new PeerRecord(other.PeerId, 5, [Multiaddr.Parse("/ip4/127.0.0.1/tcp/1")]).Encode();
        var signedByMe = SignedEnvelope.Seal(node, PeerRecord.Domain, PeerRecord.PayloadType, lie);
        Assert.Throws<FormatException>(() => NetworkRecord.Decode(Forge.Blob(RecordKind.Endpoint, signedByMe, mine.Envelopes[1])));
        // The standard peer record inside checks with the plain libp2p rules.
        Assert.Equal(node.PeerId, PeerRecord.Open(mine.PeerRecordEnvelope.Encoded.Span).PeerId);
    }

    [Fact]
    public void RedemptionsMustBeSignedByTheInviteKeyForThatInvite()
    {
        using var net = new TestNetwork();
        using var node = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        var (invite, key) = net.Invite();
        var (other, otherKey) = net.Invite();
        var good = net.Redeem(invite, key, node.PeerId);
        Assert.Equal(node.PeerId, ((RedemptionRecord)NetworkRecord.Decode(good.Encoded.Span)).Peer);
        // The redemption of invite A carried with invite B.
        Assert.ThrowsAny<Exception>(() => NetworkRecord.Decode(Forge.Blob(RecordKind.Redemption, other.Envelope, good.Envelopes[1])));
        // A redemption signed by another key than the invite's.
        var payload = good.Envelopes[1].Payload.ToArray();
        var byOther = Forge.Sign(otherKey, "pinhole-redemption-v1", "/pinhole/redemption/1", payload);
        Assert.Equal(MembershipError.BadSignature, Assert.Throws<MembershipException>(() => NetworkRecord.Decode(Forge.Blob(RecordKind.Redemption, invite.Envelope, byOther))).Reason);
        // The invite key cannot be the redeemed node key.
        Assert.Throws<FormatException>(() => RedemptionRecord.Create(invite, key, key.PeerId, T0));
        Assert.Throws<ArgumentException>(() => RedemptionRecord.Create(invite, otherKey, node.PeerId, T0));
    }

    [Fact]
    public void InvitesCheckTheirWindowAndCoordinators()
    {
        using var net = new TestNetwork();
        var key = InviteCode.GenerateKey();
        var coord = Multiaddr.Parse($"/ip4/127.0.0.1/tcp/4100/p2p/{key.PeerId}");
        Assert.Throws<ArgumentException>(() => Invite.Create(net.Admin, net.Id, key.PublicKey, [Multiaddr.Parse("/ip4/127.0.0.1/tcp/4100")], IPAddress.Parse("10.77.0.5"), null, [], T0, T0.AddDays(1), T0.AddDays(2)));
        Assert.Throws<ArgumentException>(() => Invite.Create(net.Admin, net.Id, key.PublicKey, [coord], IPAddress.Parse("10.77.0.5"), null, [], T0, T0.AddDays(31), T0.AddDays(40)));
        Assert.Throws<ArgumentException>(() => Invite.Create(net.Admin, net.Id, key.PublicKey, [coord], IPAddress.Parse("10.77.0.5"), null, [], T0, T0.AddDays(2), T0.AddDays(1)));
        Assert.Throws<ArgumentException>(() => Invite.Create(net.Admin, net.Id, key.PublicKey, [coord], null, null, [], T0, T0.AddDays(1), T0.AddDays(2)));
        using var ecdsaKey = NodeIdentity.Generate(Libp2pKeyType.Ecdsa);
        Assert.Throws<ArgumentException>(() => Invite.Create(net.Admin, net.Id, ecdsaKey.PublicKey, [coord], IPAddress.Parse("10.77.0.5"), null, [], T0, T0.AddDays(1), T0.AddDays(2)));
    }
}
