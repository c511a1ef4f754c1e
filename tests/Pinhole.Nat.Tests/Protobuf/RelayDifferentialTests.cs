using CsCheck;
using Google.Protobuf;
using Pinhole.Nat.Relay;
using Pinhole.Nat.Relay.Protocol;
using Pinhole.Oracle;
using OracleHop = Pinhole.Oracle.Circuit.HopMessage;
using OracleLimit = Pinhole.Oracle.Circuit.Limit;
using OraclePeer = Pinhole.Oracle.Circuit.Peer;
using OracleReservation = Pinhole.Oracle.Circuit.Reservation;
using OracleStatus = Pinhole.Oracle.Circuit.Status;
using OracleStop = Pinhole.Oracle.Circuit.StopMessage;
using OracleVoucher = Pinhole.Oracle.Circuit.ReservationVoucher;

namespace Pinhole.Nat.Tests.Protobuf;

/// <summary>
/// The circuit relay v2 codecs (HopMessage, StopMessage, Peer, Reservation, Limit, the reservation voucher) against
/// Google.Protobuf code generated from tests/Protos/circuit.proto and voucher.proto: what either writes the other
/// reads to the same fields, both write the same bytes, and unknown fields at every level are skipped.
/// </summary>
public sealed class RelayDifferentialTests
{
    private static readonly RelayStatus[] Statuses =
        [RelayStatus.Ok, RelayStatus.ReservationRefused, RelayStatus.ResourceLimitExceeded, RelayStatus.PermissionDenied,
         RelayStatus.ConnectionFailed, RelayStatus.NoReservation, RelayStatus.MalformedMessage, RelayStatus.UnexpectedMessage];

    private static readonly Gen<RelayPeer> Peers = Gen.Select(OracleGen.Peer, OracleGen.Address.Array[0, 4], (id, addrs) => new RelayPeer(id, addrs));

    private static readonly Gen<ReservationInfo> Reservations = Gen.Select(
        Gen.OneOf(Gen.Const(0UL), Gen.ULong[1_700_000_000, 2_000_000_000], Gen.ULong),
        OracleGen.Address.Array[0, 4],
        OracleGen.Bytes(1, 200).Null(),
        (expire, addrs, voucher) => new ReservationInfo(expire, addrs, voucher is null ? null : (ReadOnlyMemory<byte>)voucher));

    private static readonly Gen<LimitInfo> Limits = Gen.Select(
        Gen.OneOf(Gen.Const((uint?)null), Gen.UInt[0, 7200].Select(v => (uint?)v), Gen.UInt.Select(v => (uint?)v)),
        Gen.OneOf(Gen.Const((ulong?)null), Gen.ULong[0, 1 << 20].Select(v => (ulong?)v), Gen.ULong.Select(v => (ulong?)v)),
        (duration, data) => new LimitInfo(duration, data));

    private static readonly Gen<RelayStatus?> MaybeStatus = Gen.OneOf(Gen.Const((RelayStatus?)null), Gen.Int[0, Statuses.Length - 1].Select(i => (RelayStatus?)Statuses[i]));

    private static readonly Gen<HopMessage> Hops = Gen.Select(
        Gen.Int[0, 2].Select(t => (HopMessageType)t), Peers.Null(), Reservations.Null(), Limits.Null(), MaybeStatus,
        (type, peer, reservation, limit, status) => new HopMessage(type, peer, reservation, limit, status));

    private static readonly Gen<StopMessage> Stops = Gen.Select(
        Gen.Int[0, 1].Select(t => (StopMessageType)t), Peers.Null(), Limits.Null(), MaybeStatus,
        (type, peer, limit, status) => new StopMessage(type, peer, limit, status));

    [Fact]
    public void HopMessages_we_write_are_what_protobuf_writes()
    {
        Hops.Sample(hop =>
        {
            var ours = hop.Encode();
            var parsed = OracleHop.Parser.ParseFrom(ours);
            Assert.Equal((int)hop.Type, (int)parsed.Type);
            AssertPeer(hop.Peer, parsed.Peer);
            AssertReservation(hop.Reservation, parsed.Reservation);
            AssertLimit(hop.Limit, parsed.Limit);
            Assert.Equal(hop.Status is null ? null : (int?)hop.Status, parsed.HasStatus ? (int)parsed.Status : null);
            Assert.Equal(ToOracle(hop).ToByteArray(), ours);
        });
    }

    [Fact]
    public void HopMessages_protobuf_writes_parse_to_the_same_fields_unknown_fields_skipped_at_every_level()
    {
        Gen.Select(Hops, OracleGen.UnknownFields, OracleGen.UnknownPlacement).Sample((hop, unknown, placement) =>
        {
            var bytes = WithUnknownFields(ToOracle(hop), unknown, placement);
            var parsed = HopMessage.Parse(bytes);
            Assert.Equal(hop.Type, parsed.Type);
            Assert.Equal(hop.Status, parsed.Status);
            AssertSame(hop.Peer, parsed.Peer);
            Assert.Equal(hop.Reservation?.Expire, parsed.Reservation?.Expire);
            Assert.Equal(hop.Reservation?.Addresses.Select(a => a.ToString()), parsed.Reservation?.Addresses.Select(a => a.ToString()));
            Assert.Equal(hop.Reservation?.Voucher?.ToArray(), parsed.Reservation?.Voucher?.ToArray());
            Assert.Equal(hop.Limit, parsed.Limit);
        });
    }

    [Fact]
    public void StopMessages_agree_both_ways()
    {
        Gen.Select(Stops, OracleGen.UnknownFields, OracleGen.UnknownPlacement).Sample((stop, unknown, placement) =>
        {
            var ours = stop.Encode();
            var oracle = ToOracle(stop);
            Assert.Equal(oracle.ToByteArray(), ours);
            var parsedByOracle = OracleStop.Parser.ParseFrom(ours);
            Assert.Equal((int)stop.Type, (int)parsedByOracle.Type);
            AssertLimit(stop.Limit, parsedByOracle.Limit);

            var parsed = StopMessage.Parse(OracleGen.Place(oracle.ToByteArray(), unknown, placement));
            Assert.Equal(stop.Type, parsed.Type);
            Assert.Equal(stop.Status, parsed.Status);
            Assert.Equal(stop.Limit, parsed.Limit);
            AssertSame(stop.Peer, parsed.Peer);
        });
    }

    [Fact]
    public void Vouchers_agree_both_ways_and_open_when_protobuf_seals_them()
    {
        using var relay = NodeIdentity.Generate();
        Gen.Select(OracleGen.Peer, Gen.ULong, OracleGen.UnknownFields, OracleGen.UnknownPlacement).Sample((peer, expiration, unknown, placement) =>
        {
            var payload = ReservationVoucher.EncodePayload(relay.PeerId, peer, expiration);
            var oracle = new OracleVoucher
            {
                Relay = ByteString.CopyFrom(relay.PeerId.Multihash.Span),
                Peer = ByteString.CopyFrom(peer.Multihash.Span),
                Expiration = expiration,
            };
            Assert.Equal(oracle.ToByteArray(), payload);
            var parsed = OracleVoucher.Parser.ParseFrom(payload);
            Assert.Equal(expiration, parsed.Expiration);

            var extended = OracleGen.Place(oracle.ToByteArray(), unknown, placement);
            var (relayId, peerId, decodedExpiration) = ReservationVoucher.DecodePayload(extended);
            Assert.Equal(relay.PeerId, relayId);
            Assert.Equal(peer, peerId);
            Assert.Equal(expiration, decodedExpiration);
            // Sealed with unknown fields inside: the signature covers the payload as sent, so it still opens.
            var envelope = SignedEnvelope.Seal(relay, ReservationVoucher.Domain, ReservationVoucher.PayloadType, extended);
            var opened = ReservationVoucher.Open(envelope.Encoded.Span);
            Assert.Equal(peer, opened.Peer);
        });
    }

    private static byte[] WithUnknownFields(OracleHop hop, byte[] unknown, int placement)
    {
        if (placement == 0)
        {
            return hop.ToByteArray();
        }
        // Re-encode nested messages with the unknown fields inside them too (protobuf merges concatenations).
        var top = new OracleHop { Type = hop.Type };
        if (hop.HasStatus)
        {
            top.Status = hop.Status;
        }
        var bytes = OracleGen.Place(top.ToByteArray(), unknown, placement).ToList();
        if (hop.Peer is not null)
        {
            bytes.AddRange(Field(2, OracleGen.Place(hop.Peer.ToByteArray(), unknown, placement)));
        }
        if (hop.Reservation is not null)
        {
            bytes.AddRange(Field(3, OracleGen.Place(hop.Reservation.ToByteArray(), unknown, placement)));
        }
        if (hop.Limit is not null)
        {
            bytes.AddRange(Field(4, OracleGen.Place(hop.Limit.ToByteArray(), unknown, placement)));
        }
        return [.. bytes];
    }

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

    private static OracleHop ToOracle(HopMessage hop)
    {
        var message = new OracleHop { Type = (OracleHop.Types.Type)(int)hop.Type };
        if (hop.Peer is not null)
        {
            message.Peer = ToOracle(hop.Peer);
        }
        if (hop.Reservation is { } reservation)
        {
            message.Reservation = new OracleReservation();
            if (reservation.Expire is { } expire)
            {
                message.Reservation.Expire = expire;
            }
            message.Reservation.Addrs.AddRange(reservation.Addresses.Select(a => ByteString.CopyFrom(a.Bytes.Span)));
            if (reservation.Voucher is { } voucher)
            {
                message.Reservation.Voucher = ByteString.CopyFrom(voucher.Span);
            }
        }
        if (hop.Limit is not null)
        {
            message.Limit = ToOracle(hop.Limit);
        }
        if (hop.Status is { } status)
        {
            message.Status = (OracleStatus)(int)status;
        }
        return message;
    }

    private static OracleStop ToOracle(StopMessage stop)
    {
        var message = new OracleStop { Type = (OracleStop.Types.Type)(int)stop.Type };
        if (stop.Peer is not null)
        {
            message.Peer = ToOracle(stop.Peer);
        }
        if (stop.Limit is not null)
        {
            message.Limit = ToOracle(stop.Limit);
        }
        if (stop.Status is { } status)
        {
            message.Status = (OracleStatus)(int)status;
        }
        return message;
    }

    private static OraclePeer ToOracle(RelayPeer peer)
    {
        var message = new OraclePeer { Id = ByteString.CopyFrom(peer.Id.Multihash.Span) };
        message.Addrs.AddRange(peer.Addresses.Select(a => ByteString.CopyFrom(a.Bytes.Span)));
        return message;
    }

    private static OracleLimit ToOracle(LimitInfo limit)
    {
        var message = new OracleLimit();
        if (limit.Duration is { } duration)
        {
            message.Duration = duration;
        }
        if (limit.Data is { } data)
        {
            message.Data = data;
        }
        return message;
    }

    private static void AssertPeer(RelayPeer? expected, OraclePeer? actual)
    {
        Assert.Equal(expected is null, actual is null);
        if (expected is not null)
        {
            Assert.Equal(expected.Id.Multihash.ToArray(), actual!.Id.ToByteArray());
            Assert.Equal(expected.Addresses.Select(a => a.Bytes.ToArray()), actual.Addrs.Select(b => b.ToByteArray()));
        }
    }

    private static void AssertSame(RelayPeer? expected, RelayPeer? actual)
    {
        Assert.Equal(expected?.Id, actual?.Id);
        Assert.Equal(expected?.Addresses.Select(a => a.ToString()), actual?.Addresses.Select(a => a.ToString()));
        Assert.Equal(0, actual?.SkippedAddresses ?? 0);
    }

    private static void AssertReservation(ReservationInfo? expected, OracleReservation? actual)
    {
        Assert.Equal(expected is null, actual is null);
        if (expected is not null)
        {
            Assert.Equal(expected.Expire, actual!.HasExpire ? actual.Expire : null);
            Assert.Equal(expected.Addresses.Select(a => a.Bytes.ToArray()), actual.Addrs.Select(b => b.ToByteArray()));
            Assert.Equal(expected.Voucher?.ToArray(), actual.HasVoucher ? actual.Voucher.ToByteArray() : null);
        }
    }

    private static void AssertLimit(LimitInfo? expected, OracleLimit? actual)
    {
        Assert.Equal(expected is null, actual is null);
        if (expected is not null)
        {
            Assert.Equal(expected.Duration, actual!.HasDuration ? actual.Duration : null);
            Assert.Equal(expected.Data, actual.HasData ? actual.Data : null);
        }
    }
}
