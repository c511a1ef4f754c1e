using System.Text;
using Pinhole.Codecs;
using Pinhole.Membership;

namespace Pinhole.Coordinator.Tests.Trust;

/// <summary>Builds hostile records byte by byte: arbitrary payloads under real signatures, re-labelled envelopes, spliced blobs.</summary>
internal static class Forge
{
    public static SignedEnvelope Sign(NodeIdentity key, string domain, string type, byte[] payload) =>
        SignedEnvelope.Seal(key, domain, Encoding.ASCII.GetBytes(type), payload);

    public static byte[] Blob(RecordKind kind, params SignedEnvelope[] envelopes) => Blob((ulong)kind, [.. envelopes.Select(e => e.Encoded.ToArray())]);

    public static byte[] Blob(ulong kind, params byte[][] envelopes)
    {
        var writer = new ProtobufWriter();
        writer.WriteVarint(1, kind);
        foreach (var e in envelopes)
        {
            writer.WriteBytes(2, e);
        }
        return writer.ToArray();
    }

    /// <summary>A membership payload written field by field (so tests can add, repeat or drop fields).</summary>
    public static ProtobufWriter MembershipPayload(NetworkId network, PeerId peer, ulong nbf, ulong naf, bool ipv4 = true)
    {
        var w = new ProtobufWriter();
        w.WriteBytes(1, network.Bytes.Span);
        w.WriteBytes(2, peer.Multihash.Span);
        if (ipv4)
        {
            w.WriteBytes(3, [10, 77, 0, 9]);
        }
        w.WriteVarint(6, nbf);
        w.WriteVarint(7, naf);
        w.WriteVarint(8, nbf);
        return w;
    }

    /// <summary>The same envelope with one payload byte changed and the original signature kept.</summary>
    public static byte[] FlipPayloadByte(SignedEnvelope envelope, int index)
    {
        var payload = envelope.Payload.ToArray();
        payload[index] ^= 0x01;
        var w = new ProtobufWriter();
        w.WriteBytes(1, envelope.PublicKey.Encoded.Span);
        w.WriteBytes(2, envelope.PayloadType.Span);
        w.WriteBytes(3, payload);
        w.WriteBytes(5, envelope.Signature.Span);
        return w.ToArray();
    }

    /// <summary>The envelope with another signer's public key put in place of the real one (a key swap).</summary>
    public static byte[] SwapKey(SignedEnvelope envelope, Libp2pPublicKey other)
    {
        var w = new ProtobufWriter();
        w.WriteBytes(1, other.Encoded.Span);
        w.WriteBytes(2, envelope.PayloadType.Span);
        w.WriteBytes(3, envelope.Payload.Span);
        w.WriteBytes(5, envelope.Signature.Span);
        return w.ToArray();
    }

    /// <summary>The envelope's payload type changed, signature kept (a kind confusion attempt).</summary>
    public static byte[] Relabel(SignedEnvelope envelope, string type)
    {
        var w = new ProtobufWriter();
        w.WriteBytes(1, envelope.PublicKey.Encoded.Span);
        w.WriteBytes(2, Encoding.ASCII.GetBytes(type));
        w.WriteBytes(3, envelope.Payload.Span);
        w.WriteBytes(5, envelope.Signature.Span);
        return w.ToArray();
    }
}
