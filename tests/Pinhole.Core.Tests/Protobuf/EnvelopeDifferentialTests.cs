using System.Text;
using CsCheck;
using Google.Protobuf;
using Pinhole.Oracle;
using OracleAddressInfo = Pinhole.Oracle.PeerRecords.PeerRecord.Types.AddressInfo;
using OracleEnvelope = Pinhole.Oracle.Envelope.Envelope;
using OracleKey = Pinhole.Oracle.Keys.PublicKey;
using OracleKeyType = Pinhole.Oracle.Keys.KeyType;
using OraclePeerRecord = Pinhole.Oracle.PeerRecords.PeerRecord;

namespace Pinhole.Core.Tests.Protobuf;

/// <summary>
/// <see cref="SignedEnvelope"/> and <see cref="PeerRecord"/> against Google.Protobuf code generated from
/// tests/Protos/envelope.proto and peer_record.proto. The signature is checked over bytes computed here from
/// RFC 0002 (not with Pinhole's own helper), and unknown fields — in the envelope, the record or an address —
/// are skipped without breaking the signature, which covers the payload as sent.
/// </summary>
public sealed class EnvelopeDifferentialTests : IDisposable
{
    private const string Domain = "pinhole-oracle-test";

    // One signer per key type Pinhole nodes use; signing is the slow part of every sample.
    private readonly NodeIdentity _ed25519 = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
    private readonly NodeIdentity _ecdsa = NodeIdentity.Generate(Libp2pKeyType.Ecdsa);

    public void Dispose()
    {
        _ed25519.Dispose();
        _ecdsa.Dispose();
    }

    private NodeIdentity Signer(bool ecdsa) => ecdsa ? _ecdsa : _ed25519;

    [Fact]
    public void WhatWeSealIsWhatProtobufWrites()
    {
        Gen.Select(Gen.Bool, OracleGen.Bytes(1, 8), OracleGen.Bytes(0, 300)).Sample((ecdsa, type, payload) =>
        {
            var signer = Signer(ecdsa);
            var ours = SignedEnvelope.Seal(signer, Domain, type, payload);
            var parsed = OracleEnvelope.Parser.ParseFrom(ours.Encoded.Span);
            Assert.Equal((OracleKeyType)signer.KeyType, parsed.PublicKey.Type);
            Assert.Equal(signer.PublicKey.Data.ToArray(), parsed.PublicKey.Data.ToByteArray());
            Assert.Equal(type, parsed.PayloadType.ToByteArray());
            Assert.Equal(payload, parsed.Payload.ToByteArray());
            Assert.True(signer.PublicKey.Verify(SignedBytes(Domain, type, payload), parsed.Signature.Span));
            Assert.Equal(parsed.ToByteArray(), ours.Encoded.ToArray());
        });
    }

    [Fact]
    public void WhatProtobufWritesOpens_UnknownFieldsSkipped()
    {
        Gen.Select(Gen.Bool, OracleGen.Bytes(1, 8), OracleGen.Bytes(0, 300), OracleGen.UnknownFields, OracleGen.UnknownPlacement).Sample((ecdsa, type, payload, unknown, placement) =>
        {
            var signer = Signer(ecdsa);
            var encoded = OracleGen.Place(OracleSeal(signer, Domain, type, payload).ToByteArray(), unknown, placement);
            var ours = SignedEnvelope.Open(encoded, Domain, type);
            Assert.Equal(signer.PeerId, ours.Signer);
            Assert.Equal(payload, ours.Payload.ToArray());
            Assert.Equal(encoded, ours.Encoded.ToArray());
            // The domain is part of what is signed: the same bytes do not open for another one.
            Assert.Throws<System.Security.Cryptography.CryptographicException>(() => SignedEnvelope.Open(encoded, Domain + "-other", type));
        });
    }

    private static readonly Gen<(ulong Sequence, Multiaddr[] Addresses)> Records = Gen.Select(
        Gen.OneOf(Gen.Const(0UL), Gen.ULong[1, 1000], Gen.ULong),
        OracleGen.Address.Array[0, 8]);

    [Fact]
    public void PeerRecordsWeSealAreWhatProtobufWrites()
    {
        Gen.Select(Gen.Bool, Records).Sample((ecdsa, record) =>
        {
            var signer = Signer(ecdsa);
            var ours = new PeerRecord(signer.PeerId, record.Sequence, record.Addresses);
            var payload = ours.Encode();
            var parsed = OraclePeerRecord.Parser.ParseFrom(payload);
            Assert.Equal(signer.PeerId.Multihash.ToArray(), parsed.PeerId.ToByteArray());
            Assert.Equal(record.Sequence, parsed.Seq);
            Assert.Equal(record.Addresses.Select(a => a.Bytes.ToArray()), parsed.Addresses.Select(a => a.Multiaddr.ToByteArray()));
            Assert.Equal(ToOracle(signer, record.Sequence, record.Addresses).ToByteArray(), payload);

            var envelope = OracleEnvelope.Parser.ParseFrom(ours.Seal(signer).Encoded.Span);
            Assert.Equal(PeerRecord.PayloadType.ToArray(), envelope.PayloadType.ToByteArray());
            Assert.True(signer.PublicKey.Verify(SignedBytes(PeerRecord.Domain, PeerRecord.PayloadType.ToArray(), payload), envelope.Signature.Span));
        });
    }

    [Fact]
    public void PeerRecordsProtobufWritesOpen_UnknownFieldsSkippedEverywhere()
    {
        Gen.Select(Gen.Bool, Records, OracleGen.UnknownFields, OracleGen.UnknownPlacement).Sample((ecdsa, record, unknown, placement) =>
        {
            var signer = Signer(ecdsa);
            var oracle = ToOracle(signer, record.Sequence, record.Addresses);
            // Unknown fields inside each address as well as around the record.
            var payload = OracleGen.Place(oracle.ToByteArray(), unknown, placement);
            if (placement != 0 && record.Addresses.Length > 0)
            {
                var withExtras = new OraclePeerRecord { PeerId = oracle.PeerId, Seq = oracle.Seq };
                payload = OracleGen.Place(withExtras.ToByteArray(), unknown, placement);
                foreach (var address in record.Addresses)
                {
                    var info = OracleGen.Place(new OracleAddressInfo { Multiaddr = ByteString.CopyFrom(address.Bytes.Span) }.ToByteArray(), unknown, placement);
                    payload = [.. payload, .. Field(3, info)];
                }
            }
            var envelope = OracleSeal(signer, PeerRecord.Domain, PeerRecord.PayloadType.ToArray(), payload).ToByteArray();
            var ours = PeerRecord.Open(envelope);
            Assert.Equal(signer.PeerId, ours.PeerId);
            Assert.Equal(record.Sequence, ours.Sequence);
            Assert.Equal(record.Addresses.Select(a => a.ToString()), ours.Addresses.Select(a => a.ToString()));
        });
    }

    private static OraclePeerRecord ToOracle(NodeIdentity signer, ulong sequence, IEnumerable<Multiaddr> addresses)
    {
        var record = new OraclePeerRecord { PeerId = ByteString.CopyFrom(signer.PeerId.Multihash.Span), Seq = sequence };
        record.Addresses.AddRange(addresses.Select(a => new OracleAddressInfo { Multiaddr = ByteString.CopyFrom(a.Bytes.Span) }));
        return record;
    }

    private static OracleEnvelope OracleSeal(NodeIdentity signer, string domain, byte[] type, byte[] payload) => new()
    {
        PublicKey = new OracleKey { Type = (OracleKeyType)signer.KeyType, Data = ByteString.CopyFrom(signer.PublicKey.Data.Span) },
        PayloadType = ByteString.CopyFrom(type),
        Payload = ByteString.CopyFrom(payload),
        Signature = ByteString.CopyFrom(signer.Sign(SignedBytes(domain, type, payload))),
    };

    /// <summary>RFC 0002: the signature covers varint(len) domain, varint(len) payload_type, varint(len) payload.</summary>
    private static byte[] SignedBytes(string domain, byte[] type, byte[] payload)
    {
        using var buffer = new MemoryStream();
        using (var output = new CodedOutputStream(buffer, leaveOpen: true))
        {
            output.WriteBytes(ByteString.CopyFrom(Encoding.UTF8.GetBytes(domain)));
            output.WriteBytes(ByteString.CopyFrom(type));
            output.WriteBytes(ByteString.CopyFrom(payload));
        }
        return buffer.ToArray();
    }

    /// <summary>One length-delimited field (tag + length + bytes), written with Google.Protobuf.</summary>
    private static byte[] Field(int number, byte[] value)
    {
        using var buffer = new MemoryStream();
        using (var output = new CodedOutputStream(buffer, leaveOpen: true))
        {
            output.WriteTag(number, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(ByteString.CopyFrom(value));
        }
        return buffer.ToArray();
    }
}
