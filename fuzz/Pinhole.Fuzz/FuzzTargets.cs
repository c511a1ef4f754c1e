using System.Buffers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Pinhole.Codecs;
using Pinhole.Connections;
using Pinhole.Dtls.Internal;
using Pinhole.Messaging.Internal;
using Pinhole.Messaging.MessagePack;
using Pinhole.Ocapn;
using Pinhole.Ocapn.Internal;
using Pinhole.Ocapn.Syrup;
using Pinhole.Protocols;
using Pinhole.Transport.Multistream;
using Pinhole.Transport.Yamux;

namespace Pinhole.Fuzz;

/// <summary>
/// The registry: every parser of network or file input, one line each. To add one, add a line below (and seed inputs
/// in <see cref="Seeds"/>); scripts/fuzz.sh and the CI smoke (tests/Pinhole.Reliability.Tests/Fuzzing) pick it up.
/// </summary>
public static partial class FuzzTargets
{
    private const string Core = "Pinhole.Core";
    private const string Dtls = "Pinhole.Dtls";
    private const string Messaging = "Pinhole.Messaging";
    private const string Ocapn = "Pinhole.Ocapn";

    /// <summary>Every target, by name.</summary>
    public static IReadOnlyList<FuzzTarget> All { get; } =
    [
        new("multistream", [Core], Parsers.Multistream, Expect.Peer),
        new("multistream-optimistic-answer", [Core], d => _ = Pinhole.Transport.Multistream.OptimisticSelectStream.TryReadAnswer(d, "/tls/1.0.0", out _), Expect.Peer),
        new("yamux-header", [Core], Parsers.YamuxHeader, Expect.Format),
        new("yamux-session", [Core], Parsers.YamuxSession, Expect.Peer),
        new("multiaddr-bytes", [Core], Parsers.MultiaddrBytes, Expect.Format),
        new("multiaddr-text", [Core], d => Parsers.MultiaddrText(Text(d)), Expect.Format),
        new("peer-address", [Core], d => PeerAddress.Parse(Text(d)), Expect.Format),
        new("peerid-text", [Core], d => Parsers.PeerIdText(Text(d)), Expect.Format),
        new("peerid-bytes", [Core], Parsers.PeerIdBytes, Expect.Format),
        new("libp2p-public-key", [Core], d => Libp2pPublicKey.Decode(d), Expect.Format),
        new("libp2p-signed-key", [Core], d => Libp2pCertificate.DecodeSignedKey(d.ToArray()), Expect.Format),
        new("libp2p-certificate", [Core], Parsers.Certificate, Expect.Format),
        new("protobuf", [Core], Parsers.Protobuf, Expect.Format),
        new("identify", [Core], d => IdentifyMessage.Decode(d), Expect.Format),
        new("signed-envelope", [Core], Parsers.Envelope, Expect.Format),
        new("peer-record", [Core], d => PeerRecord.Decode(d), Expect.Format),
        new("node-identity-pem", [Core], d => NodeIdentity.ImportPem(Text(d)).Dispose(), Expect.Format),
        new("tls-first-records", [Core], Parsers.TlsRecords, Expect.Peer),
        new("messagepack", [Messaging], Parsers.MessagePack, Expect.Format),
        new("channel-frames", [Messaging], Parsers.ChannelFrames, Expect.Format),
        new("syrup", [Ocapn], Parsers.Syrup, Expect.Format),
        new("ocapn-locator", [Ocapn], d => OcapnLocator.Parse(Text(d)), Expect.Format),
        new("ocapn-sturdyref", [Ocapn], d => OcapnSturdyRef.Parse(Text(d)), Expect.Format),
        new("ocapn-pretls-pem", [Ocapn], d => PreTls.ExtractCertificate(d, out _), Expect.Format),
        new("ocapn-node-pem", [Ocapn], Parsers.OcapnNodePem, Expect.Format),
        new("dtls-records", [Dtls], Parsers.DtlsRecords, Expect.Format),
        .. LayerTargets(),
    ];

    /// <summary>The target called <paramref name="name"/>.</summary>
    public static FuzzTarget Get(string name) =>
        All.FirstOrDefault(t => t.Name == name) ?? throw new ArgumentException($"No fuzz target '{name}'. Known: {string.Join(", ", All.Select(t => t.Name))}.", nameof(name));

    private static string Text(ReadOnlySpan<byte> data) => Encoding.UTF8.GetString(data);

    /// <summary>The exceptions parsers document for bad input.</summary>
    public static class Expect
    {
        /// <summary>A <see cref="PeerException"/> (protocol violation and friends): the stack's own error.</summary>
        public static bool Peer(Exception e) => e is PeerException;

        /// <summary>Also <see cref="FormatException"/> (MessagePack, Syrup, text forms) and <see cref="CryptographicException"/> (keys, certificates, PEM).</summary>
        public static bool Format(Exception e) => e is PeerException or FormatException or CryptographicException;

        /// <summary>Nothing: a Try* parser (or a server's answer to any datagram) never throws.</summary>
        public static bool Nothing(Exception e) => false;
    }

    private static class Parsers
    {
        public static void Multistream(ReadOnlySpan<byte> data)
        {
            while (MultistreamMessage.TryRead(data, out _, out var consumed))
            {
                data = data[consumed..];
            }
        }

        public static void YamuxHeader(ReadOnlySpan<byte> data)
        {
            var sequence = new ReadOnlySequence<byte>(data.ToArray());
            while (YamuxFrameHeader.TryParse(sequence, out var header))
            {
                sequence = sequence.Slice(YamuxFrameHeader.Size);
                var again = new byte[YamuxFrameHeader.Size];
                header.Write(again);
                _ = YamuxFrameHeader.Parse(again);
            }
        }

        private static readonly PeerConnectionOptions SessionOptions = new()
        {
            Identity = NodeIdentity.Generate(),
            KeepAliveInterval = TimeSpan.Zero,
            IdleTimeout = TimeSpan.Zero,
        };

        /// <summary>The whole read loop of a yamux session, fed the input as the peer's bytes.</summary>
        public static void YamuxSession(ReadOnlySpan<byte> data)
        {
            var (near, far) = DuplexPipeStream.CreatePair();
            var session = ConnectionUpgrader.StartSession(far, isClient: false, SessionOptions);
            var input = data.ToArray();
            var run = Task.Run(async () =>
            {
                var drain = Task.Run(async () =>
                {
                    var sink = new byte[64 * 1024];
                    try
                    {
                        while (await near.ReadAsync(sink) > 0)
                        {
                        }
                    }
                    catch (Exception e) when (e is IOException or InvalidOperationException)
                    {
                        // The harness's own end closed (below): the session's output is not under test.
                    }
                });
                await near.WriteAsync(input);
                await near.FlushAsync();
                // Accept whatever streams the input opened, and read them, as an application would.
                var accept = Task.Run(async () =>
                {
                    try
                    {
                        while (true)
                        {
                            var stream = await session.AcceptStreamAsync(CancellationToken.None);
                            var buffer = new byte[4096];
                            _ = stream.ReadAsync(buffer).AsTask().ContinueWith(static t => t.Exception, TaskScheduler.Default);
                        }
                    }
                    catch (PeerException)
                    {
                    }
                });
                await near.DisposeAsync(); // end of input: the session sees the peer close
                await session.Completion.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                await session.DisposeAsync();
                await accept;
                await drain;
            });
            if (!run.Wait(TimeSpan.FromSeconds(10)))
            {
                throw new FuzzFindingException("The yamux session did not end within 10 s after its input ended (a hang).");
            }
            if (session.Completion.Exception?.InnerException is { } failure && failure is not PeerException)
            {
                throw failure;
            }
        }

        public static void MultiaddrBytes(ReadOnlySpan<byte> data)
        {
            var address = Multiaddr.FromBytes(data);
            var text = address.ToString();
            var again = Multiaddr.Parse(text);
            if (!again.ToArray().AsSpan().SequenceEqual(address.ToArray()))
            {
                throw new FuzzFindingException($"Multiaddr {text} does not round-trip through its text form.");
            }
        }

        public static void MultiaddrText(string text)
        {
            var address = Multiaddr.Parse(text);
            var again = Multiaddr.FromBytes(address.ToArray());
            if (again.ToString() != address.ToString())
            {
                throw new FuzzFindingException($"Multiaddr '{text}' does not round-trip through its binary form.");
            }
        }

        public static void PeerIdText(string text)
        {
            var id = PeerId.Parse(text);
            if (!PeerId.Parse(id.ToString()).Equals(id))
            {
                throw new FuzzFindingException($"PeerId '{text}' does not round-trip.");
            }
        }

        public static void PeerIdBytes(ReadOnlySpan<byte> data)
        {
            var id = PeerId.FromMultihash(data);
            if (!PeerId.Parse(id.ToString()).Equals(id))
            {
                throw new FuzzFindingException("PeerId from bytes does not round-trip through text.");
            }
        }

        public static void Certificate(ReadOnlySpan<byte> data)
        {
            using var certificate = X509CertificateLoader.LoadCertificate(data);
            _ = Libp2pCertificate.VerifyKey(certificate);
        }

        public static void Protobuf(ReadOnlySpan<byte> data)
        {
            var reader = new ProtobufReader(data);
            while (reader.TryReadField())
            {
                switch (reader.WireType)
                {
                    case ProtobufWireType.Varint:
                        reader.ReadVarint();
                        break;
                    case ProtobufWireType.LengthDelimited:
                        reader.ReadBytes();
                        break;
                    default:
                        reader.Skip();
                        break;
                }
            }
        }

        public static void Envelope(ReadOnlySpan<byte> data)
        {
            _ = SignedEnvelope.Decode(data);
            _ = PeerRecord.Open(data); // signature, domain and payload type checked too
        }

        public static void TlsRecords(ReadOnlySpan<byte> data)
        {
            using var stream = new InboundHandshakeStream(new MemoryStream(data.ToArray()));
            stream.ExpectTlsRecord();
            var buffer = new byte[1 + data.Length % 512];
            while (stream.Read(buffer, 0, buffer.Length) > 0)
            {
            }
        }

        public static void MessagePack(ReadOnlySpan<byte> data)
        {
            var reader = new MessagePackReader(data.ToArray());
            while (!reader.End)
            {
                reader.Skip();
            }
            _ = MessageCodec.Deserialize(MessageCodec.String, data.ToArray());
        }

        public static void ChannelFrames(ReadOnlySpan<byte> data)
        {
            var buffer = new ReadOnlySequence<byte>(data.ToArray());
            while (ChannelFrame.TryRead(ref buffer, 64 * 1024, out _, out _))
            {
            }
        }

        public static void Syrup(ReadOnlySpan<byte> data)
        {
            var value = SyrupReader.Decode(data);
            if (!SyrupWriter.Encode(value).AsSpan().SequenceEqual(data))
            {
                throw new FuzzFindingException("A Syrup value decoded strictly does not re-encode to its input.");
            }
        }

        public static void OcapnNodePem(ReadOnlySpan<byte> data)
        {
            var text = Text(data);
            var split = text.Length > 1 ? text.IndexOf("-----BEGIN", 1, StringComparison.Ordinal) : -1;
            using var node = split > 0 ? OcapnNode.FromPem(text[..split], text[split..]) : OcapnNode.FromPem(text, text);
        }

        public static void DtlsRecords(ReadOnlySpan<byte> data)
        {
            _ = DtlsRecord.IsClientHello(data);
            _ = DtlsRecord.ClientRandom(data);
            _ = DtlsRecord.RecordLength(data);
            Span<(int Offset, int Length)> cuts = stackalloc (int, int)[64];
            _ = DtlsRecord.Pack(data, 256 + data.Length % 1200, cuts);
        }
    }
}
