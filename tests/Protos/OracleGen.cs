using System.Net;
using System.Security.Cryptography;
using CsCheck;
using Google.Protobuf;
using Org.BouncyCastle.Crypto.EC;
using Org.BouncyCastle.Math;

namespace Pinhole.Oracle;

/// <summary>
/// Generators for the differential tests: values both Pinhole's hand-written codecs and the Google.Protobuf code
/// generated from tests/Protos can hold, and the "newer peer" fields (tests/Protos/future.proto) neither knows.
/// Shared by the test projects that compile these protos (linked, see tests/Protos/README.md).
/// </summary>
internal static class OracleGen
{
    // Keys whose data the BCL must produce (generating them per sample would be slow): a pool to pick from.
    private static readonly Lazy<(Libp2pKeyType Type, byte[] Data)[]> ImportedKeys = new(() =>
    {
        var keys = new List<(Libp2pKeyType, byte[])>();
        foreach (var curve in new[] { ECCurve.NamedCurves.nistP256, ECCurve.NamedCurves.nistP384, ECCurve.NamedCurves.nistP521 })
        {
            using var ecdsa = ECDsa.Create(curve);
            keys.Add((Libp2pKeyType.Ecdsa, ecdsa.ExportSubjectPublicKeyInfo()));
        }
        foreach (var bits in new[] { 2048, 3072 })
        {
            using var rsa = RSA.Create(bits);
            keys.Add((Libp2pKeyType.Rsa, rsa.ExportSubjectPublicKeyInfo()));
        }
        return [.. keys];
    });

    private static readonly Org.BouncyCastle.Asn1.X9.X9ECParameters Secp256k1 = CustomNamedCurves.GetByName("secp256k1");

    /// <summary>A libp2p public key of any of the four types: (type, data).</summary>
    public static readonly Gen<(Libp2pKeyType Type, byte[] Data)> PublicKey = Gen.OneOf(
        Gen.Byte.Array[32].Select(data => (Libp2pKeyType.Ed25519, data)),
        Gen.Byte.Array[32].Select(scalar =>
        {
            var d = new BigInteger(1, scalar).Mod(Secp256k1.N.Subtract(BigInteger.One)).Add(BigInteger.One);
            return (Libp2pKeyType.Secp256k1, Secp256k1.G.Multiply(d).Normalize().GetEncoded(true));
        }),
        Gen.Int[0, 4].Select(i => ImportedKeys.Value[i]));

    /// <summary>An IPv4 or IPv6 TCP/UDP multiaddr, sometimes with a /p2p suffix-free DNS form.</summary>
    public static readonly Gen<Multiaddr> Address = Gen.OneOf(
        Gen.Select(Gen.Byte.Array[4], Gen.Int[0, 65535], Gen.Bool, (ip, port, tcp) => Multiaddr.FromIPEndPoint(new IPEndPoint(new IPAddress(ip), port), tcp ? "tcp" : "udp")),
        Gen.Select(Gen.Byte.Array[16], Gen.Int[0, 65535], (ip, port) => Multiaddr.FromIPEndPoint(new IPEndPoint(new IPAddress(ip), port), "tcp")),
        Gen.Select(Gen.String[Gen.Char["abcdefghijklmnopqrstuvwxyz0123456789"], 1, 20], Gen.Int[1, 65535], (name, port) => Multiaddr.Parse($"/dns4/{name}.example/tcp/{port}")));

    /// <summary>Protocol ids and version strings, including non-ASCII text (always valid UTF-16, so valid UTF-8).</summary>
    public static readonly Gen<string> Text = Gen.String[Gen.Char["abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._- éüß中文ж"], 0, 60];

    /// <summary>Arbitrary bytes, <paramref name="min"/> to <paramref name="max"/> long; empty (the proto3 default) often when allowed.</summary>
    public static Gen<byte[]> Bytes(int min, int max) => min == 0
        ? Gen.OneOf(Gen.Const(Array.Empty<byte>()), Gen.Byte.Array[1, max])
        : Gen.Byte.Array[min, max];

    /// <summary>
    /// Fields of every wire type that no libp2p message defines (tests/Protos/future.proto), as a newer peer might
    /// send them; appending or prepending these bytes to a message adds unknown fields (protobuf merges concatenations).
    /// </summary>
    public static readonly Gen<byte[]> UnknownFields = Gen.Select(Gen.ULong, Gen.ULong, Bytes(0, 40), Gen.UInt, Gen.ULong.Array[0, 4], (varint, fixed64, bytes, fixed32, packed) =>
    {
        var extras = new Pinhole.Oracle.Future.Extras
        {
            FutureVarint = varint,
            FutureFixed64 = fixed64,
            FutureBytes = ByteString.CopyFrom(bytes),
            FutureFixed32 = fixed32,
        };
        extras.FuturePacked.AddRange(packed);
        return extras.ToByteArray();
    });

    /// <summary>Where the unknown fields go: nowhere, before the known fields, or after them.</summary>
    public static readonly Gen<int> UnknownPlacement = Gen.Int[0, 2];

    /// <summary>A PeerId's multihash (an Ed25519 key's identity multihash, or the sha2-256 of another key type).</summary>
    public static readonly Gen<PeerId> Peer = PublicKey.Select(k => Libp2pPublicKey.Create(k.Type, k.Data).PeerId);

    /// <summary>Puts <paramref name="unknown"/> before (1) or after (2) <paramref name="message"/>, or leaves it out (0).</summary>
    public static byte[] Place(byte[] message, byte[] unknown, int placement) => placement switch
    {
        1 => [.. unknown, .. message],
        2 => [.. message, .. unknown],
        _ => message,
    };
}
