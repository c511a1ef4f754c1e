using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Pinhole.Dtls.Native;
using Pinhole.Messaging.MessagePack;
using Pinhole.Ocapn.Syrup;
using Pinhole.Protocols;
using Pinhole.Transport.Multistream;
using Pinhole.Transport.Yamux;

namespace Pinhole.Fuzz;

/// <summary>
/// Valid inputs for each target, made with the project's own encoders, so the fuzzer starts from the real wire
/// formats. <c>Pinhole.Fuzz seed fuzz/corpus</c> writes them; the corpus in the repository is that output plus the
/// inputs AFL++ found interesting (new coverage) and every crash, once fixed, as a regression.
/// </summary>
public static class Seeds
{
    public static void WriteAll(string directory)
    {
        foreach (var target in FuzzTargets.All)
        {
            var folder = Path.Combine(directory, target.Name);
            Directory.CreateDirectory(folder);
            var i = 0;
            foreach (var seed in For(target.Name))
            {
                File.WriteAllBytes(Path.Combine(folder, $"seed-{i++:000}"), seed);
            }
        }
    }

    public static IEnumerable<byte[]> For(string target)
    {
        using var ed = NodeIdentity.Generate(Libp2pKeyType.Ed25519);
        using var ec = NodeIdentity.Generate(Libp2pKeyType.Ecdsa);
        var addresses = new[] { "/ip4/127.0.0.1/tcp/4001", "/ip6/::1/udp/4001/quic-v1", "/dns4/example.com/tcp/443/tls/ws", $"/ip4/1.2.3.4/tcp/1/p2p/{ed.PeerId}" };
        switch (target)
        {
            case "multistream":
                yield return MultistreamMessage.Encode(MultistreamMessage.Header, "/tls/1.0.0");
                yield return MultistreamMessage.Encode(MultistreamMessage.Header, "na", "/yamux/1.0.0", "ls");
                break;
            case "multistream-optimistic-answer":
                yield return MultistreamMessage.Encode(MultistreamMessage.Header, "/tls/1.0.0");
                yield return [.. MultistreamMessage.Encode(MultistreamMessage.Header, "/tls/1.0.0"), 0x16, 0x03, 0x03, 0x00, 0x7a];
                yield return MultistreamMessage.Encode(MultistreamMessage.Header, "na");
                break;
            case "yamux-header":
            case "yamux-session":
                yield return Frames((YamuxFrameType.WindowUpdate, YamuxFlags.Syn, 1, 0), (YamuxFrameType.Data, YamuxFlags.None, 1, 2));
                yield return [.. Frames((YamuxFrameType.Data, YamuxFlags.Syn, 1, 5)), .. "hello"u8, .. Frames((YamuxFrameType.Data, YamuxFlags.Fin, 1, 0))];
                yield return Frames((YamuxFrameType.Ping, YamuxFlags.Syn, 0, 7), (YamuxFrameType.GoAway, YamuxFlags.None, 0, 0));
                yield return Frames((YamuxFrameType.WindowUpdate, YamuxFlags.Syn, 3, 1 << 20), (YamuxFrameType.WindowUpdate, YamuxFlags.Rst, 3, 0));
                break;
            case "multiaddr-bytes":
                foreach (var a in addresses)
                {
                    yield return Multiaddr.Parse(a).ToArray();
                }
                break;
            case "multiaddr-text":
                foreach (var a in addresses)
                {
                    yield return Encoding.UTF8.GetBytes(a);
                }
                break;
            case "peer-address":
                yield return Encoding.UTF8.GetBytes($"/ip4/127.0.0.1/tcp/4001/p2p/{ed.PeerId}");
                yield return Encoding.UTF8.GetBytes(ed.PeerId.ToString());
                yield return Encoding.UTF8.GetBytes($"pinhole://{ed.PeerId}@127.0.0.1:4001");
                break;
            case "peerid-text":
                yield return Encoding.UTF8.GetBytes(ed.PeerId.ToString());
                yield return Encoding.UTF8.GetBytes(ec.PeerId.ToString());
                yield return Encoding.UTF8.GetBytes("bafzaajaiaejcb3cqu7rcbpxffzfhzrlzihfbcf5ey5xjvcqenpdvtp6fzwavrwrp");
                break;
            case "peerid-bytes":
                yield return ed.PeerId.Multihash.ToArray();
                yield return ec.PeerId.Multihash.ToArray();
                break;
            case "libp2p-public-key":
                yield return ed.PublicKey.Encoded.ToArray();
                yield return ec.PublicKey.Encoded.ToArray();
                break;
            case "libp2p-signed-key":
                using (var cert = Libp2pCertificate.Create(ed))
                {
                    yield return cert.Extensions.First(e => e.Oid?.Value == "1.3.6.1.4.1.53594.1.1").RawData;
                }
                break;
            case "libp2p-certificate":
                using (var cert = Libp2pCertificate.Create(ed))
                {
                    yield return cert.RawData;
                }
                using (var cert = Libp2pCertificate.Create(ec))
                {
                    yield return cert.RawData;
                }
                break;
            case "protobuf":
            case "identify":
                yield return new IdentifyMessage
                {
                    ProtocolVersion = "ipfs/0.1.0",
                    AgentVersion = "pinhole/0.1.0",
                    PublicKey = ed.PublicKey.Encoded,
                    ListenAddrs = [Multiaddr.Parse(addresses[0])],
                    ObservedAddr = Multiaddr.Parse(addresses[1]),
                    Protocols = ["/ipfs/ping/1.0.0", "/ipfs/id/1.0.0"],
                }.Encode();
                break;
            case "signed-envelope":
                yield return new PeerRecord(ed.PeerId, 7, [Multiaddr.Parse(addresses[0])]).Seal(ed).Encoded.ToArray();
                yield return new PeerRecord(ec.PeerId, 1, [.. addresses.Take(3).Select(Multiaddr.Parse)]).Seal(ec).Encoded.ToArray();
                break;
            case "peer-record":
                yield return new PeerRecord(ed.PeerId, 7, [.. addresses.Take(3).Select(Multiaddr.Parse)]).Encode();
                break;
            case "node-identity-pem":
                yield return Encoding.UTF8.GetBytes(ed.ExportPem());
                yield return Encoding.UTF8.GetBytes(ec.ExportPem());
                break;
            case "tls-first-records":
                yield return [0x16, 0x03, 0x01, 0x00, 0x05, 1, 0, 0, 1, 0, 0x14, 0x03, 0x03, 0x00, 0x01, 0x01, 0x17, 0x03, 0x03, 0x00, 0x02, 0xaa, 0xbb];
                break;
            case "messagepack":
                yield return MessageCodec.Serialize(MessageCodec.String, "hello");
                yield return MessageCodec.Serialize(MessageCodec.Bytes, [1, 2, 3]);
                yield return MessageCodec.Serialize(MessageCodec.Int64, long.MinValue);
                yield return MessageCodec.Serialize(MessageCodec.Double, Math.PI);
                yield return [0x93, 0x01, 0x82, 0xa1, 0x61, 0xc3, 0xa1, 0x62, 0xc0, 0xd7, 0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0xc7, 0x02, 0x05, 0xaa, 0xbb];
                break;
            case "channel-frames":
                yield return [0x00, 0x03, 0xa2, 0x68, 0x69, 0x01, 0x00, 0x02, 0x01, 0xc0];
                break;
            case "syrup":
                yield return SyrupWriter.Encode(new SyrupRecord(new SyrupSymbol("op:start-session"), "captp-v1", new SyrupList(1L, 2L, "x"u8.ToArray(), true, 1.5)));
                yield return SyrupWriter.Encode(new SyrupDictionary([new(new SyrupSymbol("a"), 1L), new(new SyrupSymbol("b"), "two")]));
                yield return SyrupWriter.Encode(new SyrupSet([1L, 2L, 3L]));
                break;
            case "ocapn-locator":
                yield return Encoding.UTF8.GetBytes("ocapn://" + new string('a', 64) + ".tcp-tls?host=127.0.0.1&port=4000");
                yield return Encoding.UTF8.GetBytes("ocapn://abc.onion");
                break;
            case "ocapn-sturdyref":
                yield return Encoding.UTF8.GetBytes("ocapn://" + new string('a', 64) + ".tcp-tls/s/c3dpc3M?host=localhost&port=9");
                break;
            case "ocapn-pretls-pem":
            case "ocapn-node-pem":
                using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
                {
                    var request = new CertificateRequest("CN=CapTP", key, HashAlgorithmName.SHA256);
                    using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddYears(1));
                    yield return Encoding.ASCII.GetBytes(cert.ExportCertificatePem() + "\n" + (target == "ocapn-node-pem" ? key.ExportECPrivateKeyPem() + "\n" : ""));
                }
                break;
            case "dtls-records":
                yield return DtlsClientHello(ed);
                break;
            default:
                foreach (var seed in LayerSeeds.For(target, ed, ec))
                {
                    yield return seed;
                }
                break;
        }
    }

    private static byte[] Frames(params (YamuxFrameType Type, YamuxFlags Flags, uint Stream, uint Length)[] frames)
    {
        var bytes = new byte[frames.Length * YamuxFrameHeader.Size];
        for (var i = 0; i < frames.Length; i++)
        {
            new YamuxFrameHeader(frames[i].Type, frames[i].Flags, frames[i].Stream, frames[i].Length).Write(bytes.AsSpan(i * YamuxFrameHeader.Size));
        }
        return bytes;
    }

    /// <summary>A genuine DTLS 1.2 ClientHello from OpenSSL.</summary>
    private static byte[] DtlsClientHello(NodeIdentity identity)
    {
        using var certificate = Libp2pCertificate.Create(identity);
        using var context = NativeDtlsContext.Create(certificate);
        using var session = NativeDtlsSession.Create(context, 1400);
        session.SetConnectState();
        session.Handshake(out _);
        var output = new byte[session.PendingOutput];
        return output.AsSpan(0, session.ReadOutput(output)).ToArray();
    }
}
