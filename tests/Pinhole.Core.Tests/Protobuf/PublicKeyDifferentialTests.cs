using CsCheck;
using Google.Protobuf;
using Pinhole.Oracle;
using OracleKey = Pinhole.Oracle.Keys.PublicKey;
using OracleKeyType = Pinhole.Oracle.Keys.KeyType;

namespace Pinhole.Core.Tests.Protobuf;

/// <summary>
/// <see cref="Libp2pPublicKey"/> against Google.Protobuf code generated from tests/Protos/keys.proto: the same
/// bytes both ways. The PeerId hashes these bytes, so unlike the other messages a key with unknown fields is
/// refused (only the canonical encoding is accepted), while Google.Protobuf keeps them.
/// </summary>
public sealed class PublicKeyDifferentialTests
{
    [Fact]
    public void WhatProtobufWritesDecodesToTheSameKey()
    {
        OracleGen.PublicKey.Sample(key =>
        {
            var encoded = new OracleKey { Type = (OracleKeyType)key.Type, Data = ByteString.CopyFrom(key.Data) }.ToByteArray();
            var ours = Libp2pPublicKey.Decode(encoded);
            Assert.Equal(key.Type, ours.Type);
            Assert.Equal(key.Data, ours.Data.ToArray());
            Assert.Equal(encoded, ours.Encoded.ToArray());
        });
    }

    [Fact]
    public void WhatWeWriteIsWhatProtobufWrites()
    {
        OracleGen.PublicKey.Sample(key =>
        {
            var ours = Libp2pPublicKey.Create(key.Type, key.Data);
            var parsed = OracleKey.Parser.ParseFrom(ours.Encoded.Span);
            Assert.Equal((OracleKeyType)key.Type, parsed.Type);
            Assert.Equal(key.Data, parsed.Data.ToByteArray());
            Assert.Equal(parsed.ToByteArray(), ours.Encoded.ToArray());
        });
    }

    [Fact]
    public void UnknownFieldsAreKeptByProtobufButRefusedForAPeerId()
    {
        Gen.Select(OracleGen.PublicKey, OracleGen.UnknownFields, Gen.Int[1, 2]).Sample((key, unknown, placement) =>
        {
            var canonical = new OracleKey { Type = (OracleKeyType)key.Type, Data = ByteString.CopyFrom(key.Data) }.ToByteArray();
            var extended = OracleGen.Place(canonical, unknown, placement);
            // Google.Protobuf keeps unknown fields (appended on re-serialization)...
            var parsed = OracleKey.Parser.ParseFrom(extended);
            Assert.Equal(key.Data, parsed.Data.ToByteArray());
            // ...but two encodings of one key would be two PeerIds: only the canonical one is accepted.
            var e = Assert.Throws<FormatException>(() => Libp2pPublicKey.Decode(extended));
            Assert.Contains("canonical", e.Message, StringComparison.Ordinal);
        });
    }
}
