using CsCheck;
using Google.Protobuf;
using Pinhole.Oracle;
using Pinhole.Protocols;
using OracleIdentify = Pinhole.Oracle.Identify.Identify;

namespace Pinhole.Core.Tests.Protobuf;

/// <summary>
/// <see cref="IdentifyMessage"/> against Google.Protobuf code generated from tests/Protos/identify.proto: what
/// either writes the other reads to the same fields, with the same bytes, and unknown fields (a newer peer's) are
/// skipped wherever they appear.
/// </summary>
public sealed class IdentifyDifferentialTests
{
    private sealed record Fields(
        byte[]? PublicKey, Multiaddr[] ListenAddrs, string[] Protocols, Multiaddr? ObservedAddr,
        string? ProtocolVersion, string? AgentVersion, byte[]? SignedPeerRecord);

    private static readonly Gen<Fields> Messages = Gen.Select(
        OracleGen.PublicKey.Select(k => Libp2pPublicKey.Create(k.Type, k.Data).Encoded.ToArray()).Null(),
        OracleGen.Address.Array[0, 6],
        OracleGen.Text.Array[0, 8],
        OracleGen.Address.Null(),
        OracleGen.Text.Null(),
        OracleGen.Text.Null(),
        OracleGen.Bytes(1, 200).Null(),
        (key, listen, protocols, observed, protocolVersion, agentVersion, record) =>
            new Fields(key, listen, protocols, observed, protocolVersion, agentVersion, record));

    [Fact]
    public void WhatProtobufWritesDecodesToTheSameFields_UnknownFieldsSkipped()
    {
        Gen.Select(Messages, OracleGen.UnknownFields, OracleGen.UnknownPlacement).Sample((fields, unknown, placement) =>
        {
            var encoded = OracleGen.Place(ToOracle(fields).ToByteArray(), unknown, placement);
            var ours = IdentifyMessage.Decode(encoded);
            Assert.Equal(fields.PublicKey ?? [], ours.PublicKey.ToArray());
            Assert.Equal(fields.ListenAddrs.Select(a => a.ToString()), ours.ListenAddrs.Select(a => a.ToString()));
            Assert.Equal(fields.Protocols, ours.Protocols);
            Assert.Equal(fields.ObservedAddr?.ToString(), ours.ObservedAddr?.ToString());
            Assert.Equal(fields.ProtocolVersion, ours.ProtocolVersion);
            Assert.Equal(fields.AgentVersion, ours.AgentVersion);
            Assert.Equal(0, ours.UnreadableAddressCount);
        });
    }

    [Fact]
    public void WhatWeWriteIsWhatProtobufWrites()
    {
        Messages.Sample(fields =>
        {
            // signedPeerRecord (field 8) is read past and never written by Pinhole: leave it out of this direction.
            var ours = new IdentifyMessage
            {
                PublicKey = fields.PublicKey ?? ReadOnlyMemory<byte>.Empty,
                ListenAddrs = fields.ListenAddrs,
                Protocols = fields.Protocols,
                ObservedAddr = fields.ObservedAddr,
                ProtocolVersion = fields.ProtocolVersion,
                AgentVersion = fields.AgentVersion,
            }.Encode();
            var parsed = OracleIdentify.Parser.ParseFrom(ours);
            Assert.Equal(fields.PublicKey is not null, parsed.HasPublicKey);
            Assert.Equal(fields.PublicKey ?? [], parsed.PublicKey.ToByteArray());
            Assert.Equal(fields.ListenAddrs.Select(a => a.Bytes.ToArray()), parsed.ListenAddrs.Select(b => b.ToByteArray()));
            Assert.Equal(fields.Protocols, parsed.Protocols);
            Assert.Equal(fields.ObservedAddr?.Bytes.ToArray(), parsed.HasObservedAddr ? parsed.ObservedAddr.ToByteArray() : null);
            Assert.Equal(fields.ProtocolVersion, parsed.HasProtocolVersion ? parsed.ProtocolVersion : null);
            Assert.Equal(fields.AgentVersion, parsed.HasAgentVersion ? parsed.AgentVersion : null);
            Assert.False(parsed.HasSignedPeerRecord);
            Assert.Equal(ToOracle(fields with { SignedPeerRecord = null }).ToByteArray(), ours);
        });
    }

    [Fact]
    public void MessagesSplitInPartsMergeAsProtobufMergesThem()
    {
        // go-libp2p sends a large identify in several messages; protobuf semantics say the parts merge as one.
        Gen.Select(Messages, Messages).Sample((first, second) =>
        {
            var a = ToOracle(first).ToByteArray();
            var b = ToOracle(second).ToByteArray();
            var oracle = OracleIdentify.Parser.ParseFrom([.. a, .. b]);
            var ours = IdentifyMessage.Merge(IdentifyMessage.Decode(a), b);
            Assert.Equal(oracle.HasPublicKey ? oracle.PublicKey.ToByteArray() : [], ours.PublicKey.ToArray());
            Assert.Equal(oracle.ListenAddrs.Select(x => x.ToByteArray()), ours.ListenAddrs.Select(x => x.Bytes.ToArray()));
            Assert.Equal(oracle.Protocols, ours.Protocols);
            Assert.Equal(oracle.HasObservedAddr ? oracle.ObservedAddr.ToByteArray() : null, ours.ObservedAddr?.Bytes.ToArray());
            Assert.Equal(oracle.HasProtocolVersion ? oracle.ProtocolVersion : null, ours.ProtocolVersion);
            Assert.Equal(oracle.HasAgentVersion ? oracle.AgentVersion : null, ours.AgentVersion);
        });
    }

    private static OracleIdentify ToOracle(Fields fields)
    {
        var message = new OracleIdentify();
        if (fields.PublicKey is not null)
        {
            message.PublicKey = ByteString.CopyFrom(fields.PublicKey);
        }
        message.ListenAddrs.AddRange(fields.ListenAddrs.Select(a => ByteString.CopyFrom(a.Bytes.Span)));
        message.Protocols.AddRange(fields.Protocols);
        if (fields.ObservedAddr is not null)
        {
            message.ObservedAddr = ByteString.CopyFrom(fields.ObservedAddr.Bytes.Span);
        }
        if (fields.ProtocolVersion is not null)
        {
            message.ProtocolVersion = fields.ProtocolVersion;
        }
        if (fields.AgentVersion is not null)
        {
            message.AgentVersion = fields.AgentVersion;
        }
        if (fields.SignedPeerRecord is not null)
        {
            message.SignedPeerRecord = ByteString.CopyFrom(fields.SignedPeerRecord);
        }
        return message;
    }
}
