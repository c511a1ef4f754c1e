using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace Pinhole.Nat.Tests.Stun;

public sealed class StunMessageTests
{
    [Fact]
    public void Rfc5769_sample_request_parses_and_verifies()
    {
        StunMessage m = StunMessage.Parse(Rfc5769Vectors.Request);
        Assert.Equal(StunMethod.Binding, m.Method);
        Assert.Equal(StunClass.Request, m.Class);
        Assert.Equal("b7e7a701bc34d686fa87dfae", m.TransactionId.ToString());
        Assert.Equal("STUN test client", m.Software);
        Assert.Equal("evtj:h6vY", m.Username);
        Assert.Equal(0x6e0001ffu, m.Priority);
        Assert.Equal(0x932ff9b151263b36ul, m.IceControlled);
        Assert.True(m.HasValidFingerprint());
        Assert.True(m.VerifyMessageIntegrity(StunCredentials.ShortTermKey(Rfc5769Vectors.ShortTermPassword)));
        Assert.False(m.VerifyMessageIntegrity(StunCredentials.ShortTermKey("wrong")));
    }

    [Fact]
    public void Rfc5769_ipv4_response_gives_the_mapped_address()
    {
        StunMessage m = StunMessage.Parse(Rfc5769Vectors.Ipv4Response);
        Assert.Equal(StunClass.SuccessResponse, m.Class);
        Assert.Equal("test vector", m.Software);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 32853), m.XorMappedAddress);
        Assert.True(m.HasValidFingerprint());
        Assert.True(m.VerifyMessageIntegrity(StunCredentials.ShortTermKey(Rfc5769Vectors.ShortTermPassword)));
    }

    [Fact]
    public void Rfc5769_ipv6_response_gives_the_mapped_address()
    {
        StunMessage m = StunMessage.Parse(Rfc5769Vectors.Ipv6Response);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("2001:db8:1234:5678:11:2233:4455:6677"), 32853), m.XorMappedAddress);
        Assert.True(m.HasValidFingerprint());
        Assert.True(m.VerifyMessageIntegrity(StunCredentials.ShortTermKey(Rfc5769Vectors.ShortTermPassword)));
    }

    [Fact]
    public void Rfc5769_long_term_request_verifies_with_the_md5_key()
    {
        StunMessage m = StunMessage.Parse(Rfc5769Vectors.LongTermRequest);
        Assert.Equal(Rfc5769Vectors.LongTermUsername, m.Username);
        Assert.Equal(Rfc5769Vectors.LongTermRealm, m.Realm);
        Assert.Equal(Rfc5769Vectors.LongTermNonce, m.Nonce);
        Assert.False(m.HasFingerprint);
        byte[] key = StunCredentials.LongTermKey(Rfc5769Vectors.LongTermUsername, Rfc5769Vectors.LongTermRealm, Rfc5769Vectors.LongTermPassword);
        Assert.True(m.VerifyMessageIntegrity(key));
    }

    [Fact]
    public void Rfc8489_b1_request_verifies_with_the_sha256_key_and_userhash()
    {
        StunMessage m = StunMessage.Parse(Rfc5769Vectors.LongTermSha256Request);
        Assert.True(m.TryGetAttribute(StunAttributeType.UserHash, out StunAttribute userHash));
        byte[] expectedHash = SHA256.HashData(Encoding.UTF8.GetBytes(Rfc5769Vectors.LongTermUsername + ":" + Rfc5769Vectors.LongTermRealm));
        Assert.Equal(expectedHash, userHash.Value.ToArray());
        byte[] key = StunCredentials.LongTermKeySha256(Rfc5769Vectors.LongTermUsername, Rfc5769Vectors.LongTermRealm, Rfc5769Vectors.LongTermPassword);
        Assert.True(m.VerifyMessageIntegrity(key));
        Assert.False(m.VerifyMessageIntegrity(StunCredentials.LongTermKey(Rfc5769Vectors.LongTermUsername, Rfc5769Vectors.LongTermRealm, Rfc5769Vectors.LongTermPassword)));
    }

    [Fact]
    public void Builder_reproduces_the_rfc5769_vectors_byte_for_byte()
    {
        byte[] shortTerm = StunCredentials.ShortTermKey(Rfc5769Vectors.ShortTermPassword);
        StunTransactionId id = StunMessage.Parse(Rfc5769Vectors.Request).TransactionId;
        byte[] request = new StunMessageBuilder(StunMethod.Binding, StunClass.Request, id) { PaddingByte = (byte)' ' }
            .AddText(StunAttributeType.Software, "STUN test client")
            .AddUInt32(StunAttributeType.Priority, 0x6e0001ff)
            .AddUInt64(StunAttributeType.IceControlled, 0x932ff9b151263b36)
            .AddText(StunAttributeType.Username, "evtj:h6vY")
            .AddMessageIntegrity(shortTerm)
            .AddFingerprint()
            .ToArray();
        Assert.Equal(Convert.ToHexString(Rfc5769Vectors.Request), Convert.ToHexString(request));

        byte[] v4 = new StunMessageBuilder(StunMethod.Binding, StunClass.SuccessResponse, id) { PaddingByte = (byte)' ' }
            .AddText(StunAttributeType.Software, "test vector")
            .AddXorAddress(StunAttributeType.XorMappedAddress, new IPEndPoint(IPAddress.Parse("192.0.2.1"), 32853))
            .AddMessageIntegrity(shortTerm)
            .AddFingerprint()
            .ToArray();
        Assert.Equal(Convert.ToHexString(Rfc5769Vectors.Ipv4Response), Convert.ToHexString(v4));

        byte[] v6 = new StunMessageBuilder(StunMethod.Binding, StunClass.SuccessResponse, id) { PaddingByte = (byte)' ' }
            .AddText(StunAttributeType.Software, "test vector")
            .AddXorAddress(StunAttributeType.XorMappedAddress, new IPEndPoint(IPAddress.Parse("2001:db8:1234:5678:11:2233:4455:6677"), 32853))
            .AddMessageIntegrity(shortTerm)
            .AddFingerprint()
            .ToArray();
        Assert.Equal(Convert.ToHexString(Rfc5769Vectors.Ipv6Response), Convert.ToHexString(v6));

        StunMessage lt = StunMessage.Parse(Rfc5769Vectors.LongTermRequest);
        byte[] longTerm = new StunMessageBuilder(StunMethod.Binding, StunClass.Request, lt.TransactionId)
            .AddText(StunAttributeType.Username, Rfc5769Vectors.LongTermUsername)
            .AddText(StunAttributeType.Nonce, Rfc5769Vectors.LongTermNonce)
            .AddText(StunAttributeType.Realm, Rfc5769Vectors.LongTermRealm)
            .AddMessageIntegrity(StunCredentials.LongTermKey(Rfc5769Vectors.LongTermUsername, Rfc5769Vectors.LongTermRealm, Rfc5769Vectors.LongTermPassword))
            .ToArray();
        Assert.Equal(Convert.ToHexString(Rfc5769Vectors.LongTermRequest), Convert.ToHexString(longTerm));
    }

    [Fact]
    public void Builder_output_round_trips_with_integrity_and_fingerprint()
    {
        byte[] key = StunCredentials.LongTermKey("user", "realm", "pass");
        var id = StunTransactionId.NewRandom();
        var v6 = new IPEndPoint(IPAddress.Parse("2001:db8::1"), 4242);
        byte[] bytes = new StunMessageBuilder(StunMethod.Allocate, StunClass.SuccessResponse, id)
            .AddXorAddress(StunAttributeType.XorRelayedAddress, new IPEndPoint(IPAddress.Parse("203.0.113.5"), 50000))
            .AddXorAddress(StunAttributeType.XorMappedAddress, v6)
            .AddUInt32(StunAttributeType.Lifetime, 600)
            .AddText(StunAttributeType.Software, "pinhole")
            .AddMessageIntegrity(key)
            .AddMessageIntegritySha256(key)
            .AddFingerprint()
            .ToArray();
        StunMessage m = StunMessage.Parse(bytes);
        Assert.Equal(id, m.TransactionId);
        Assert.Equal(StunMethod.Allocate, m.Method);
        Assert.Equal(StunClass.SuccessResponse, m.Class);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("203.0.113.5"), 50000), m.XorRelayedAddress);
        Assert.Equal(v6, m.XorMappedAddress);
        Assert.Equal(TimeSpan.FromSeconds(600), m.Lifetime);
        Assert.True(m.HasValidFingerprint());
        Assert.True(m.VerifyMessageIntegrity(key));
        Assert.False(m.VerifyMessageIntegrity(StunCredentials.LongTermKey("user", "realm", "other")));
    }

    [Theory]
    [InlineData(StunMethod.Binding, StunClass.Request, 0x0001)]
    [InlineData(StunMethod.Binding, StunClass.SuccessResponse, 0x0101)]
    [InlineData(StunMethod.Binding, StunClass.ErrorResponse, 0x0111)]
    [InlineData(StunMethod.Binding, StunClass.Indication, 0x0011)]
    [InlineData(StunMethod.Allocate, StunClass.Request, 0x0003)]
    [InlineData(StunMethod.Send, StunClass.Indication, 0x0016)]
    [InlineData(StunMethod.Data, StunClass.Indication, 0x0017)]
    [InlineData(StunMethod.ChannelBind, StunClass.SuccessResponse, 0x0109)]
    public void Message_types_encode_as_in_the_rfcs(StunMethod method, StunClass stunClass, int wire)
    {
        byte[] bytes = new StunMessageBuilder(method, stunClass, StunTransactionId.NewRandom()).ToArray();
        Assert.Equal(wire, BinaryPrimitives.ReadUInt16BigEndian(bytes));
        StunMessage m = StunMessage.Parse(bytes);
        Assert.Equal(method, m.Method);
        Assert.Equal(stunClass, m.Class);
    }

    [Fact]
    public void Tampering_breaks_integrity_and_fingerprint()
    {
        byte[] bytes = (byte[])Rfc5769Vectors.Ipv4Response.Clone();
        bytes[30] ^= 1; // inside SOFTWARE
        StunMessage m = StunMessage.Parse(bytes);
        Assert.False(m.HasValidFingerprint());
        Assert.False(m.VerifyMessageIntegrity(StunCredentials.ShortTermKey(Rfc5769Vectors.ShortTermPassword)));
    }

    [Fact]
    public void Attributes_after_message_integrity_are_ignored_except_sha256_and_fingerprint()
    {
        byte[] key = [1, 2, 3];
        var b = new StunMessageBuilder(StunMethod.Binding, StunClass.Request, StunTransactionId.NewRandom())
            .AddText(StunAttributeType.Username, "u")
            .AddMessageIntegrity(key);
        byte[] sealedBytes = b.ToArray();
        // Splice a SOFTWARE attribute after MESSAGE-INTEGRITY by hand (the builder refuses to).
        byte[] extra = [0x80, 0x22, 0x00, 0x04, (byte)'e', (byte)'v', (byte)'i', (byte)'l'];
        byte[] bytes = [.. sealedBytes, .. extra];
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(2), (ushort)(bytes.Length - 20));
        StunMessage m = StunMessage.Parse(bytes);
        Assert.Null(m.Software);
        Assert.Equal(2, m.Attributes.Count);
    }

    public static TheoryData<string, string, string> Hostile => new()
    {
        { "empty", "", "shorter than the 20-byte header" },
        { "short header", "0001000021 12a442".Replace(" ", "", StringComparison.Ordinal), "shorter than the 20-byte header" },
        { "leading bits", "c00100002112a442000000000000000000000000", "two leading bits" },
        { "no cookie", "000100000000000000000000000000000000000a", "magic cookie" },
        { "length not multiple of 4", "000100022112a442000000000000000000000000ffff", "not a multiple of 4" },
        { "length beyond datagram", "000100082112a442000000000000000000000000", "does not match" },
        { "trailing bytes", "000100002112a44200000000000000000000000000000000", "does not match" },
        { "attribute overruns", "000100042112a4420000000000000000000000008022ffff", "claims 65535 bytes" },
        { "bad family", "000100082112a44200000000000000000000000000200004 00030000".Replace(" ", "", StringComparison.Ordinal), "unknown address family 3" },
        { "ipv4 too long", "000100102112a4420000000000000000000000000020000c000100000000000000000000", "IPv4 address takes 8 bytes" },
        { "error class 7", "000100082112a44200000000000000000000000000090004 00000700".Replace(" ", "", StringComparison.Ordinal), "outside 300-699" },
        { "mi length", "000100082112a4420000000000000000000000000008000400000000", "expected 20" },
        { "fingerprint not last", "000100102112a4420000000000000000000000008028000400000000802200040000 0000".Replace(" ", "", StringComparison.Ordinal), "follows FINGERPRINT" },
        { "bad utf-8", "000100082112a44200000000000000000000000080220004ff fe fd fc".Replace(" ", "", StringComparison.Ordinal), "not valid UTF-8" },
        { "odd unknown-attributes", "000100082112a442000000000000000000000000000a000300010200", "odd length" },
    };

    [Theory]
    [MemberData(nameof(Hostile))]
    public void Hostile_input_gets_a_precise_error(string name, string hex, string expected)
    {
        byte[] bytes = Convert.FromHexString(hex);
        Assert.False(StunMessage.TryParse(bytes, out _, out string? error), name);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        PeerException e = Assert.Throws<PeerException>(() => StunMessage.Parse(bytes));
        Assert.Equal(PeerError.ProtocolViolation, e.Error);
    }

    [Fact]
    public void Too_many_attributes_are_refused()
    {
        var b = new StunMessageBuilder(StunMethod.Binding, StunClass.Request, StunTransactionId.NewRandom());
        for (int i = 0; i < StunMessage.MaxAttributes + 1; i++)
        {
            b.Add(0x8100, []);
        }
        Assert.False(StunMessage.TryParse(b.ToArray(), out _, out string? error));
        Assert.Contains("more than 64 attributes", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Random_bytes_never_throw_anything_but_protocol_violations()
    {
        var random = new Random(5769);
        byte[] template = Rfc5769Vectors.Request;
        for (int i = 0; i < 20_000; i++)
        {
            byte[] bytes = (byte[])template.Clone();
            int flips = random.Next(1, 6);
            for (int f = 0; f < flips; f++)
            {
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            }
            int length = random.Next(0, bytes.Length + 1);
            if (StunMessage.TryParse(bytes.AsSpan(0, length), out StunMessage? m, out _))
            {
                // Every typed accessor works on anything the parser accepted.
                _ = (m.XorMappedAddress, m.MappedAddress, m.ErrorCode, m.UnknownAttributes, m.ChangeRequest, m.Software,
                    m.Username, m.Realm, m.Nonce, m.Lifetime, m.Priority, m.ChannelNumber, m.Data, m.XorPeerAddresses,
                    m.ResponseOrigin, m.OtherAddress, m.HasValidFingerprint(), m.VerifyMessageIntegrity([1]));
            }
        }
    }

    [Fact]
    public void Unknown_comprehension_required_attributes_are_reported()
    {
        byte[] bytes = new StunMessageBuilder(StunMethod.Binding, StunClass.Request, StunTransactionId.NewRandom())
            .Add(0x7001, [1, 2, 3, 4])
            .Add(0x8001, [])
            .ToArray();
        Assert.Equal([(ushort)0x7001], StunMessage.Parse(bytes).UnknownComprehensionRequired());
    }

    [Fact]
    public void LooksLikeStun_matches_only_whole_stun_messages()
    {
        Assert.True(StunMessage.LooksLikeStun(Rfc5769Vectors.Request));
        Assert.False(StunMessage.LooksLikeStun(Rfc5769Vectors.Request.AsSpan(0, 100)));
        Assert.False(StunMessage.LooksLikeStun([22, 254, 253, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    }
}
