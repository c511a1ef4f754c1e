using System.Buffers.Binary;
using System.Text;

namespace Pinhole.Nat;

public sealed partial class StunMessage
{
    // RFC 8489 §5 and §14:
    //  0                   1                   2                   3
    //  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    // +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    // |0 0|     STUN Message Type     |         Message Length        |
    // +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    // |                  Magic Cookie = 0x2112A442                    |
    // +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    // |                     Transaction ID (96 bits)                  |
    // +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    // |         Type                  |            Length             |  ← each attribute: TLV,
    // +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+     value padded to 4 bytes
    // |                         Value (variable)                ....
    // +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    // Message Length counts the bytes after the header (a multiple of 4). Attributes after
    // MESSAGE-INTEGRITY are ignored except MESSAGE-INTEGRITY-SHA256 and FINGERPRINT; FINGERPRINT is last.
    private static string? ParseCore(ReadOnlySpan<byte> datagram, ref StunMessage? message)
    {
        if (datagram.Length < HeaderLength)
        {
            return $"{datagram.Length} bytes is shorter than the 20-byte header";
        }
        if (datagram.Length > MaxLength)
        {
            return $"{datagram.Length} bytes is longer than {MaxLength}";
        }
        if ((datagram[0] & 0xC0) != 0)
        {
            return "the two leading bits of the message type are not zero";
        }
        if (BinaryPrimitives.ReadUInt32BigEndian(datagram[4..]) != MagicCookie)
        {
            return "the magic cookie is not 0x2112A442 (RFC 3489 messages are not supported)";
        }
        int length = BinaryPrimitives.ReadUInt16BigEndian(datagram[2..]);
        if ((length & 3) != 0)
        {
            return $"the message length {length} is not a multiple of 4";
        }
        if (HeaderLength + length != datagram.Length)
        {
            return $"the message length {length} does not match the {datagram.Length - HeaderLength} bytes after the header";
        }
        ushort type = BinaryPrimitives.ReadUInt16BigEndian(datagram);
        var attributes = new List<StunAttribute>();
        byte[] raw = datagram.ToArray();
        int integrity = -1, integritySha256 = -1, fingerprint = -1;
        int offset = HeaderLength;
        while (offset < raw.Length)
        {
            if (fingerprint >= 0)
            {
                return "an attribute follows FINGERPRINT, which must be last";
            }
            if (raw.Length - offset < 4)
            {
                return $"a truncated attribute header at offset {offset}";
            }
            ushort attrType = BinaryPrimitives.ReadUInt16BigEndian(raw.AsSpan(offset));
            int attrLength = BinaryPrimitives.ReadUInt16BigEndian(raw.AsSpan(offset + 2));
            int padded = (attrLength + 3) & ~3;
            if (padded > raw.Length - offset - 4)
            {
                return $"attribute {StunAttributeType.Name(attrType)} at offset {offset} claims {attrLength} bytes but only {raw.Length - offset - 4} remain";
            }
            bool ignored = (integrity >= 0 || integritySha256 >= 0)
                && attrType != StunAttributeType.Fingerprint
                && !(attrType == StunAttributeType.MessageIntegritySha256 && integritySha256 < 0);
            if (!ignored)
            {
                if (attributes.Count >= MaxAttributes)
                {
                    return $"more than {MaxAttributes} attributes";
                }
                var value = new ReadOnlyMemory<byte>(raw, offset + 4, attrLength);
                if (CheckValue(attrType, value.Span) is { } bad)
                {
                    return $"{StunAttributeType.Name(attrType)}: {bad}";
                }
                switch (attrType)
                {
                    case StunAttributeType.MessageIntegrity when integrity < 0: integrity = attributes.Count; break;
                    case StunAttributeType.MessageIntegritySha256: integritySha256 = attributes.Count; break;
                    case StunAttributeType.Fingerprint: fingerprint = attributes.Count; break;
                }
                attributes.Add(new StunAttribute(attrType, value, offset));
            }
            offset += 4 + padded;
        }
        message = new StunMessage(raw, (StunMethod)StunMessageType.Method(type), StunMessageType.Class(type),
            StunTransactionId.Read(raw.AsSpan(8)), [.. attributes], integrity, integritySha256, fingerprint);
        return null;
    }

    private static string? CheckValue(ushort type, ReadOnlySpan<byte> value)
    {
        switch (type)
        {
            case StunAttributeType.MappedAddress or StunAttributeType.XorMappedAddress or StunAttributeType.XorPeerAddress
                or StunAttributeType.XorRelayedAddress or StunAttributeType.ResponseOrigin or StunAttributeType.OtherAddress
                or StunAttributeType.AlternateServer:
                return CheckAddress(value);
            case StunAttributeType.ErrorCode:
                if (value.Length < 4)
                {
                    return "shorter than 4 bytes";
                }
                int errorClass = value[2] & 0x07, number = value[3];
                if (errorClass is < 3 or > 6 || number > 99)
                {
                    return $"code class {errorClass} number {number} is outside 300-699";
                }
                return CheckText(value[4..], 763);
            case StunAttributeType.UnknownAttributes:
                return (value.Length & 1) != 0 ? "odd length" : null;
            case StunAttributeType.ChangeRequest or StunAttributeType.ChannelNumber or StunAttributeType.Lifetime
                or StunAttributeType.Priority or StunAttributeType.RequestedTransport or StunAttributeType.Fingerprint
                or StunAttributeType.ResponsePort or StunAttributeType.RequestedAddressFamily:
                return value.Length == 4 ? null : $"{value.Length} bytes, expected 4";
            case StunAttributeType.IceControlled or StunAttributeType.IceControlling or StunAttributeType.ReservationToken:
                return value.Length == 8 ? null : $"{value.Length} bytes, expected 8";
            case StunAttributeType.UseCandidate or StunAttributeType.DontFragment:
                return value.Length == 0 ? null : $"{value.Length} bytes, expected none";
            case StunAttributeType.EvenPort:
                return value.Length == 1 ? null : $"{value.Length} bytes, expected 1";
            case StunAttributeType.MessageIntegrity:
                return value.Length == 20 ? null : $"{value.Length} bytes, expected 20";
            case StunAttributeType.MessageIntegritySha256:
                return value.Length is >= 16 and <= 32 && (value.Length & 3) == 0 ? null : $"{value.Length} bytes, expected 16-32 in steps of 4";
            case StunAttributeType.UserHash:
                return value.Length == 32 ? null : $"{value.Length} bytes, expected 32";
            case StunAttributeType.Username:
                return CheckText(value, 513);
            case StunAttributeType.Realm or StunAttributeType.Nonce or StunAttributeType.Software:
                return CheckText(value, 763);
            default:
                return null;
        }
    }

    private static string? CheckAddress(ReadOnlySpan<byte> value)
    {
        if (value.Length < 4)
        {
            return "shorter than 4 bytes";
        }
        return value[1] switch
        {
            1 when value.Length == 8 => null,
            1 => $"an IPv4 address takes 8 bytes, not {value.Length}",
            2 when value.Length == 20 => null,
            2 => $"an IPv6 address takes 20 bytes, not {value.Length}",
            _ => $"unknown address family {value[1]}",
        };
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static string? CheckText(ReadOnlySpan<byte> value, int maxBytes)
    {
        if (value.Length > maxBytes)
        {
            return $"{value.Length} bytes is longer than {maxBytes}";
        }
        try
        {
            _ = StrictUtf8.GetCharCount(value);
            return null;
        }
        catch (DecoderFallbackException)
        {
            return "not valid UTF-8";
        }
    }
}
