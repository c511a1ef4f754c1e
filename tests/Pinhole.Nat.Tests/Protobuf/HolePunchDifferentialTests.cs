using CsCheck;
using Google.Protobuf;
using Pinhole.Nat.Dcutr.Protocol;
using Pinhole.Oracle;
using OracleHolePunch = Pinhole.Oracle.HolePunch.HolePunch;

namespace Pinhole.Nat.Tests.Protobuf;

/// <summary>The DCUtR HolePunch codec against Google.Protobuf code generated from tests/Protos/holepunch.proto.</summary>
public sealed class HolePunchDifferentialTests
{
    private static readonly Gen<HolePunchMessage> Messages = Gen.Select(
        Gen.Bool.Select(connect => connect ? HolePunchType.Connect : HolePunchType.Sync),
        OracleGen.Address.Array[0, 8],
        (type, addrs) => new HolePunchMessage(type, addrs));

    [Fact]
    public void HolePunch_messages_agree_both_ways_unknown_fields_skipped()
    {
        Gen.Select(Messages, OracleGen.UnknownFields, OracleGen.UnknownPlacement).Sample((message, unknown, placement) =>
        {
            var oracle = new OracleHolePunch { Type = (OracleHolePunch.Types.Type)(int)message.Type };
            oracle.ObsAddrs.AddRange(message.Addresses.Select(a => ByteString.CopyFrom(a.Bytes.Span)));
            var ours = message.Encode();
            Assert.Equal(oracle.ToByteArray(), ours);
            var parsedByOracle = OracleHolePunch.Parser.ParseFrom(ours);
            Assert.Equal((int)message.Type, (int)parsedByOracle.Type);
            Assert.Equal(message.Addresses.Select(a => a.Bytes.ToArray()), parsedByOracle.ObsAddrs.Select(b => b.ToByteArray()));

            var parsed = HolePunchMessage.Parse(OracleGen.Place(oracle.ToByteArray(), unknown, placement));
            Assert.Equal(message.Type, parsed.Type);
            Assert.Equal(message.Addresses.Select(a => a.ToString()), parsed.Addresses.Select(a => a.ToString()));
            Assert.Equal(0, parsed.SkippedAddresses);
        });
    }
}
