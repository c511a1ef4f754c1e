using System.Security.Cryptography;
using Pinhole.Codecs;

namespace Pinhole.Nat.Relay;

/// <summary>
/// A reservation voucher (circuit relay v2): the relay's signed statement that it will relay for a peer until a time.
/// It travels as a <see cref="SignedEnvelope"/> (libp2p/specs RFC 0002) in the <c>Reservation.voucher</c> field.
/// </summary>
/// <remarks>
/// <code>
/// domain       = "libp2p-relay-rsvp"
/// payload_type = 03 02                        (raw bytes, not the varint of 0x0302: go and js both do this)
/// Voucher      = 0x0a varint(len) relay       (field 1: relay PeerId multihash)
///                0x12 varint(len) peer        (field 2: reserving PeerId multihash)
///                0x18 varint expiration       (field 3: unix seconds, UTC)
/// in field order (canonical); the signature covers
/// varint(17) "libp2p-relay-rsvp" varint(2) 03 02 varint(len(payload)) payload
/// </code>
/// </remarks>
public sealed class ReservationVoucher
{
    /// <summary>The signing domain.</summary>
    public const string Domain = "libp2p-relay-rsvp";

    private ReservationVoucher(PeerId relay, PeerId peer, ulong expiration, SignedEnvelope envelope)
    {
        Relay = relay;
        Peer = peer;
        ExpirationUnixSeconds = expiration;
        Envelope = envelope;
    }

    /// <summary>The payload type (multicodec <c>libp2p-relay-rsvp</c>, 0x0302, as raw bytes).</summary>
    public static ReadOnlySpan<byte> PayloadType => [0x03, 0x02];

    /// <summary>The relay that signed.</summary>
    public PeerId Relay { get; }

    /// <summary>The peer the reservation is for.</summary>
    public PeerId Peer { get; }

    /// <summary>Expiry as sent (unix seconds).</summary>
    public ulong ExpirationUnixSeconds { get; }

    /// <summary>Expiry as a time (clamped to the representable range).</summary>
    public DateTimeOffset Expiration => DateTimeOffset.FromUnixTimeSeconds((long)Math.Min(ExpirationUnixSeconds, 253402300799UL));

    /// <summary>The signed envelope (its <see cref="SignedEnvelope.Encoded"/> bytes go on the wire).</summary>
    public SignedEnvelope Envelope { get; }

    /// <summary>Signs a voucher as <paramref name="relay"/> for <paramref name="peer"/>.</summary>
    public static ReservationVoucher Seal(NodeIdentity relay, PeerId peer, ulong expirationUnixSeconds)
    {
        ArgumentNullException.ThrowIfNull(relay);
        ArgumentNullException.ThrowIfNull(peer);
        var payload = EncodePayload(relay.PeerId, peer, expirationUnixSeconds);
        var envelope = SignedEnvelope.Seal(relay, Domain, PayloadType, payload);
        return new ReservationVoucher(relay.PeerId, peer, expirationUnixSeconds, envelope);
    }

    /// <summary>
    /// Decodes and verifies a voucher envelope: payload type 03 02, signature for <see cref="Domain"/>, and the signer
    /// must be the relay the payload names. Throws <see cref="FormatException"/> for malformed bytes or a signer that is
    /// not the relay, <see cref="CryptographicException"/> for a bad signature.
    /// </summary>
    public static ReservationVoucher Open(ReadOnlySpan<byte> envelope)
    {
        var opened = SignedEnvelope.Open(envelope, Domain, PayloadType);
        var (relay, peer, expiration) = DecodePayload(opened.Payload.Span);
        if (!opened.Signer.Equals(relay))
        {
            throw new FormatException($"The voucher names relay {relay} but is signed by {opened.Signer}.");
        }
        return new ReservationVoucher(relay, peer, expiration, opened);
    }

    /// <summary>The canonical payload.</summary>
    public static byte[] EncodePayload(PeerId relay, PeerId peer, ulong expirationUnixSeconds)
    {
        ArgumentNullException.ThrowIfNull(relay);
        ArgumentNullException.ThrowIfNull(peer);
        var writer = new ProtobufWriter(96);
        writer.WriteBytes(1, relay.Multihash.Span);
        writer.WriteBytes(2, peer.Multihash.Span);
        writer.WriteVarint(3, expirationUnixSeconds);
        return writer.ToArray();
    }

    /// <summary>Parses the payload (pure; a fuzz target). All three fields are required.</summary>
    public static (PeerId Relay, PeerId Peer, ulong Expiration) DecodePayload(ReadOnlySpan<byte> payload)
    {
        var reader = new ProtobufReader(payload);
        PeerId? relay = null;
        PeerId? peer = null;
        ulong? expiration = null;
        while (reader.TryReadField())
        {
            switch (reader.FieldNumber)
            {
                case 1:
                    relay = PeerId.FromMultihash(reader.ReadBytes());
                    break;
                case 2:
                    peer = PeerId.FromMultihash(reader.ReadBytes());
                    break;
                case 3:
                    expiration = reader.ReadVarint();
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }
        if (relay is null || peer is null || expiration is null)
        {
            throw new FormatException($"The voucher lacks its {(relay is null ? "relay (field 1)" : peer is null ? "peer (field 2)" : "expiration (field 3)")}.");
        }
        return (relay, peer, expiration.Value);
    }
}
