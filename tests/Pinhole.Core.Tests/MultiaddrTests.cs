using System.Net;
using Pinhole.Codecs;

namespace Pinhole.Core.Tests;

public class MultiaddrTests
{
    private const string QmPeer = "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N";
    private const string Ed25519Peer = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";
    // libp2p/specs peer-ids.md: the same peer as QmPeer, written as a CIDv1 (libp2p-key, base32).
    private const string CidPeer = "bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe";

    [Theory]
    // multiformats/multiaddr test/multiaddr.feature
    [InlineData("/ip4/192.0.2.42/tcp/443", "04c000022a0601bb")]
    [InlineData("/ip4/127.0.0.1/udp/1234", "047f000001" + "9102" + "04d2")]
    [InlineData("/ip6/::1/tcp/4001", "29" + "00000000000000000000000000000001" + "06" + "0fa1")]
    [InlineData("/dns4/example.com/tcp/443", "36" + "0b" + "6578616d706c652e636f6d" + "0601bb")]
    [InlineData("/dns/a.b/tcp/1", "35" + "03" + "612e62" + "060001")]
    [InlineData("/dns6/a/udp/65535", "37" + "01" + "61" + "9102" + "ffff")]
    [InlineData("/dnsaddr/x.io", "38" + "04" + "782e696f")]
    [InlineData("/ip4/1.2.3.4/udp/4001/quic-v1", "0401020304" + "9102" + "0fa1" + "cd03")]
    [InlineData("/ip4/1.2.3.4/udp/4001/quic", "0401020304" + "9102" + "0fa1" + "cc03")]
    [InlineData("/ip4/1.2.3.4/tcp/443/tls/sni/a.io/ws", "0401020304" + "0601bb" + "c003" + "c103" + "04" + "612e696f" + "dd03")]
    [InlineData("/ip4/1.2.3.4/tcp/443/wss/noise", "0401020304" + "0601bb" + "de03" + "c603")]
    [InlineData("/p2p-circuit", "a202")]
    [InlineData("/ip4/1.2.3.4/udp/1/quic-v1/webtransport", "0401020304" + "9102" + "0001" + "cd03" + "d103")]
    [InlineData("/unix/%2Ftmp%2Fp2p.sock", "9003" + "0d" + "2f746d702f7032702e736f636b")]
    [InlineData("/unix/sock", "9003" + "04" + "736f636b")]
    [InlineData("/ip6zone/eth0/ip6/fe80::1/tcp/1", "2a" + "04" + "65746830" + "29" + "fe800000000000000000000000000001" + "060001")]
    [InlineData("/", "")]
    // Binary forms below were produced by js @multiformats/multiaddr 13.0.3.
    [InlineData("/ip4/1.2.3.4/tcp/80/p2p/" + QmPeer, "0401020304060050a5032212209dff3b17d74cf4d38a50d8b6383e92d181a10395a5e73a726dcccbd21bf6f0b9")]
    [InlineData("/ip4/1.2.3.4/udp/443/quic-v1/webtransport/certhash/uEiAkH5a4DPGKUuOBjYw0CgwjvcJCJMD2K_1aluKR_tpevQ",
        "0401020304910201bbcd03d103d203221220241f96b80cf18a52e3818d8c340a0c23bdc24224c0f62bfd5a96e291feda5ebd")]
    [InlineData("/unix/%2Fa%2520space", "90030a2f612532307370616365")]
    public void Text_and_binary_forms_match(string text, string hex)
    {
        var fromText = Multiaddr.Parse(text);
        Assert.Equal(hex, Convert.ToHexStringLower(fromText.Bytes.Span));
        var fromBytes = Multiaddr.FromBytes(Convert.FromHexString(hex));
        Assert.Equal(text, fromBytes.ToString());
        Assert.Equal(fromText, fromBytes);
        Assert.Equal(fromText.GetHashCode(), fromBytes.GetHashCode());
    }

    [Fact]
    public void P2p_component_holds_the_multihash()
    {
        var addr = Multiaddr.Parse($"/ip4/1.2.3.4/tcp/80/p2p/{QmPeer}");
        var bytes = addr.Bytes.Span;
        // a5 03 = varint(0x01a5); 0x22 = 34-byte value; 0x12 0x20 = sha2-256 multihash header
        Assert.Equal("a5032212", Convert.ToHexStringLower(bytes.Slice(8, 4)));
        Assert.Equal(8 + 3 + 34, bytes.Length);
        Assert.True(addr.TryGetPeerId(out var peer));
        Assert.Equal(PeerId.Parse(QmPeer), peer);
        Assert.Equal(Base58.Decode(QmPeer), peer.Multihash.ToArray());
        Assert.Equal($"/ip4/1.2.3.4/tcp/80/p2p/{QmPeer}", addr.ToString());
    }

    [Fact]
    public void Ipfs_is_an_alias_printed_as_p2p()
    {
        var addr = Multiaddr.Parse($"/ipfs/{QmPeer}");
        Assert.Equal($"/p2p/{QmPeer}", addr.ToString());
        Assert.Equal("p2p", addr.Components[0].Protocol);
        Assert.Equal(Multiaddr.Parse($"/p2p/{QmPeer}"), addr);
    }

    [Fact]
    public void Cid_peer_id_parses_to_the_same_multihash_and_prints_base58()
    {
        var fromCid = Multiaddr.Parse($"/p2p/{CidPeer}");
        Assert.Equal($"/p2p/{QmPeer}", fromCid.ToString());
        Assert.Equal(Multiaddr.Parse($"/p2p/{QmPeer}"), fromCid);
    }

    [Fact]
    public void Identity_multihash_peer_id_round_trips()
    {
        var addr = Multiaddr.Parse($"/ip4/127.0.0.1/tcp/4001/p2p/{Ed25519Peer}");
        Assert.Equal($"/ip4/127.0.0.1/tcp/4001/p2p/{Ed25519Peer}", addr.ToString());
        Assert.True(addr.TryGetPeerId(out var peer));
        Assert.Equal(0x00, peer.Multihash.Span[0]); // identity multihash
        Assert.Equal(Ed25519Peer, peer.ToString());
        Assert.Equal(addr, Multiaddr.Parse("/ip4/127.0.0.1/tcp/4001").Encapsulate(peer));
    }

    [Fact]
    public void Certhash_accepts_multibase_and_prints_base64url()
    {
        var digest = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        byte[] multihash = [0x12, 0x20, .. digest];
        var expected = "u" + Convert.ToBase64String(multihash).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        foreach (var text in new[] { expected, "b" + Base32.Encode(multihash), "z" + Base58.Encode(multihash), "f" + Convert.ToHexStringLower(multihash) })
        {
            var addr = Multiaddr.Parse($"/ip4/1.2.3.4/udp/443/quic-v1/webtransport/certhash/{text}");
            var c = addr.Components[^1];
            Assert.Equal("certhash", c.Protocol);
            Assert.Equal(0x01d2, c.Code);
            Assert.Equal(expected, c.Value);
            Assert.Equal(multihash, c.RawValue.ToArray());
        }
    }

    [Fact]
    public void Certhash_from_the_webtransport_spec_parses()
    {
        var addr = Multiaddr.Parse("/ip4/1.2.3.4/udp/443/quic-v1/webtransport/certhash/uEiAkH5a4DPGKUuOBjYw0CgwjvcJCJMD2K_1aluKR_tpevQ");
        var raw = addr.Components[^1].RawValue.Span;
        Assert.Equal(34, raw.Length);
        Assert.Equal(0x12, raw[0]);
        Assert.Equal(0x20, raw[1]);
        Assert.Equal("uEiAkH5a4DPGKUuOBjYw0CgwjvcJCJMD2K_1aluKR_tpevQ", addr.Components[^1].Value);
    }

    [Theory]
    // multiformats/multiaddr protocols/unix.md table
    [InlineData("/", "/unix/%2F")]
    [InlineData("/file.socket", "/unix/%2Ffile.socket")]
    [InlineData("/dir/file.socket", "/unix/%2Fdir%2Ffile.socket")]
    [InlineData("/tmp/foo/../bar", "/unix/%2Ftmp%2Ffoo%2F..%2Fbar")]
    // (the spec's table writes this row as "/%2F", which contradicts its other rows: a leading '/' is %2F)
    [InlineData("%2F", "/unix/%252F")]
    [InlineData("/a%20space", "/unix/%2Fa%2520space")]
    [InlineData("socket", "/unix/socket")]
    [InlineData("/a b", "/unix/%2Fa%20b")]
    public void Unix_path_is_one_percent_encoded_segment(string path, string text)
    {
        var addr = Multiaddr.Parse(text);
        Assert.Equal(path, System.Text.Encoding.UTF8.GetString(addr.Components[0].RawValue.Span));
        Assert.Equal(text, addr.ToString());
    }

    [Fact]
    public void Unix_path_may_be_followed_by_more_components()
    {
        var addr = Multiaddr.Parse($"/unix/%2Fdir%2Ffile.socket/p2p/{QmPeer}");
        Assert.Equal(2, addr.Components.Count);
        Assert.True(addr.TryGetPeerId(out _));
    }

    [Theory]
    [InlineData("/ip6/2001:DB8::0:1/tcp/1", "/ip6/2001:db8::1/tcp/1")]
    [InlineData("/ip6/::ffff:1.2.3.4/tcp/1", "/ip6/::ffff:1.2.3.4/tcp/1")]
    [InlineData("/ip4/1.2.3.4/tcp/080", "/ip4/1.2.3.4/tcp/80")]
    [InlineData("/ip4/1.2.3.4/tcp/80/", "/ip4/1.2.3.4/tcp/80")]
    [InlineData("/tls/", "/tls")]
    public void Text_is_canonicalized(string input, string canonical)
    {
        Assert.Equal(canonical, Multiaddr.Parse(input).ToString());
    }

    [Theory]
    [InlineData("", "Empty multiaddr")]
    [InlineData("ip4/1.2.3.4", "must start with '/'")]
    [InlineData("/foo/1", "Unknown multiaddr protocol 'foo' in component 1")]
    [InlineData("/ip4/1.2.3.4/bar", "Unknown multiaddr protocol 'bar' in component 2")]
    [InlineData("/IP4/1.2.3.4", "Unknown multiaddr protocol 'IP4'")]
    [InlineData("/ip4", "Protocol 'ip4' (component 1) needs a value")]
    [InlineData("/ip4/1.2.3.4/tcp", "Protocol 'tcp' (component 2) needs a value")]
    [InlineData("/ip4/1.2.3", "four dot-separated")]
    [InlineData("/ip4/1.2.3.256", "256 is over 255")]
    [InlineData("/ip4/01.2.3.4", "bad number '01'")]
    [InlineData("/ip4/0x7f.0.0.1", "bad number '0x7f'")]
    [InlineData("/ip4/::1", "four dot-separated")]
    [InlineData("/ip6/1.2.3.4", "not an IPv6 address")]
    [InlineData("/ip6/::1%eth0", "not an IPv6 address")]
    [InlineData("/ip6/1::2::3", "not an IPv6 address")]
    [InlineData("/ip6/[::1]", "not an IPv6 address")]
    [InlineData("/ip4/1.2.3.4/tcp/65536", "Port 65536 is out of range")]
    [InlineData("/ip4/1.2.3.4/tcp/-1", "not a port number")]
    [InlineData("/ip4/1.2.3.4/tcp/+1", "not a port number")]
    [InlineData("/ip4/1.2.3.4/tcp/100000", "not a port number")]
    [InlineData("/ip4/1.2.3.4//tcp/1", "Empty protocol name in component 2")]
    [InlineData("/ip4/1.2.3.4/tcp/1//", "ends with an empty component")]
    [InlineData("//", "ends with an empty component")]
    [InlineData("/p2p/QmNotBase58l0", "Invalid base58 character")]
    [InlineData("/p2p/Qm", "Invalid value for /p2p (component 1): Invalid peer ID 'Qm'")]
    [InlineData("/p2p/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N5", "Invalid peer ID")]
    [InlineData("/p2p/bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi", "must be libp2p-key (0x72), not 0x70")]
    [InlineData("/p2p/xyz", "Invalid peer ID 'xyz'")]
    [InlineData("/certhash/uEiA", "declares a 32-byte digest but carries 0 bytes")]
    [InlineData("/certhash/u!!", "Invalid base64url character")]
    [InlineData("/unix/%2", "Bad percent escape")]
    [InlineData("/unix/%zz", "Bad percent escape")]
    [InlineData("/unix/%ff", "not valid UTF-8")]
    [InlineData("/unix/tmp/x.sock", "Unknown multiaddr protocol 'x.sock'")]
    [InlineData("/dns/a\u0001b", "invalid character U+0001")]
    public void Bad_text_fails_with_a_precise_message(string text, string expected)
    {
        var e = Assert.Throws<FormatException>(() => Multiaddr.Parse(text));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.False(Multiaddr.TryParse(text, out _));
    }

    [Fact]
    public void Overlong_text_and_names_are_rejected()
    {
        var e = Assert.Throws<FormatException>(() => Multiaddr.Parse("/dns/" + new string('a', 256)));
        Assert.Contains("256 bytes long; at most 255", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<FormatException>(() => Multiaddr.Parse(new string('/', 5000)));
        Assert.Contains("at most 4096", e.Message, StringComparison.Ordinal);
        // 5 x (2 + 2 + 250) bytes > 1 KiB in binary form
        var big = string.Concat(Enumerable.Repeat("/dns/" + new string('a', 250), 5));
        e = Assert.Throws<FormatException>(() => Multiaddr.Parse(big));
        Assert.Contains("longer than 1024 bytes", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", null)]
    [InlineData("04c00002", "/ip4 needs 4 bytes at offset 1 but only 3 remain")]
    [InlineData("0601", "/tcp needs 2 bytes at offset 1 but only 1 remain")]
    [InlineData("91", "protocol code at offset 0 is cut off")]
    [InlineData("0401020304ff", "protocol code at offset 5 is cut off")]
    [InlineData("07", "Unknown multiaddr protocol code 0x7 at offset 0")]
    [InlineData("ffffffffffffffffffff01", "Invalid protocol code varint at offset 0")]
    [InlineData("8000", "Invalid protocol code varint")] // non-minimal varint
    [InlineData("35", "length of /dns at offset 1 is cut off")]
    [InlineData("3505616263", "/dns declares 5 bytes at offset 2 but only 3 remain")]
    [InlineData("3500", "Empty name")]
    [InlineData("35022f61", "invalid character U+002F")]
    [InlineData("3502c328", "not valid UTF-8")]
    [InlineData("a5030412200000", "declares a 32-byte digest but holds 2 bytes")]
    [InlineData("a50300", "multihash header is truncated")]
    [InlineData("a50304130200ff", "neither identity (0x00) nor sha2-256")]
    [InlineData("900300", "Empty unix path")]
    public void Bad_binary_fails_with_a_precise_message(string hex, string? expected)
    {
        var bytes = Convert.FromHexString(hex);
        if (expected is null)
        {
            Assert.True(Multiaddr.FromBytes(bytes).IsEmpty);
            return;
        }
        var e = Assert.Throws<FormatException>(() => Multiaddr.FromBytes(bytes));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.False(Multiaddr.TryFromBytes(bytes, out _));
    }

    [Fact]
    public void Binary_over_the_limit_is_rejected_before_decoding()
    {
        var e = Assert.Throws<FormatException>(() => Multiaddr.FromBytes(new byte[Multiaddr.MaxBinaryLength + 1]));
        Assert.Contains("1025 bytes long; at most 1024", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Huge_declared_length_does_not_allocate_or_overflow()
    {
        // /dns with a length varint of 2^62: must be rejected as truncated, not allocated.
        var e = Assert.Throws<FormatException>(() => Multiaddr.FromBytes(Convert.FromHexString("3580808080808080804061")));
        Assert.Contains("/dns declares", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Random_bytes_never_crash_the_decoder()
    {
        var random = new Random(1234);
        var buffer = new byte[64];
        for (var i = 0; i < 20_000; i++)
        {
            var length = random.Next(buffer.Length);
            random.NextBytes(buffer.AsSpan(0, length));
            if (Multiaddr.TryFromBytes(buffer.AsSpan(0, length), out var addr))
            {
                // Whatever decodes must print and parse back to the same bytes.
                Assert.Equal(addr, Multiaddr.Parse(addr.ToString()));
            }
        }
    }

    [Fact]
    public void Components_expose_name_code_and_value()
    {
        var addr = Multiaddr.Parse($"/ip4/10.0.0.1/tcp/4001/tls/p2p/{QmPeer}");
        Assert.Equal(["ip4", "tcp", "tls", "p2p"], addr.Components.Select(c => c.Protocol));
        Assert.Equal([0x04, 0x06, 0x01c0, 0x01a5], addr.Components.Select(c => c.Code));
        Assert.Equal(["10.0.0.1", "4001", null, QmPeer], addr.Components.Select(c => c.Value));
        Assert.Equal("/tcp/4001", addr.Components[1].ToString());
        Assert.Equal("/tls", addr.Components[2].ToString());
        Assert.Equal(addr.Bytes.Length, addr.Components.Sum(c => c.Encoded.Length));
        Assert.False(addr.Components is MultiaddrComponent[]); // callers cannot swap components
    }

    [Fact]
    public void Encapsulate_and_decapsulate()
    {
        var tcp = Multiaddr.Parse("/ip4/1.2.3.4/tcp/4001");
        var full = tcp.Encapsulate($"/p2p/{QmPeer}");
        Assert.Equal($"/ip4/1.2.3.4/tcp/4001/p2p/{QmPeer}", full.ToString());
        Assert.Equal(tcp, full.Decapsulate($"/p2p/{QmPeer}"));
        Assert.Equal(Multiaddr.Parse("/ip4/1.2.3.4"), full.Decapsulate("/tcp/4001"));
        Assert.Equal(tcp, full.DecapsulateCode(0x01a5));
        Assert.Same(full, full.Decapsulate("/tcp/4002"));
        Assert.Same(full, full.DecapsulateCode(0x0111));
        Assert.True(full.Decapsulate("/ip4/1.2.3.4").IsEmpty);
        Assert.Equal("/", full.Decapsulate("/ip4/1.2.3.4").ToString());

        // The last occurrence is removed (a relayed address has two /p2p components).
        var relayed = Multiaddr.Parse($"/ip4/1.2.3.4/tcp/1/p2p/{QmPeer}/p2p-circuit/p2p/{Ed25519Peer}");
        Assert.Equal($"/ip4/1.2.3.4/tcp/1/p2p/{QmPeer}/p2p-circuit", relayed.DecapsulateCode(0x01a5).ToString());
        Assert.Equal("/ip4/1.2.3.4/tcp/1", relayed.Decapsulate($"/p2p/{QmPeer}").ToString());
        Assert.True(relayed.TryGetPeerId(out var target));
        Assert.Equal(PeerId.Parse(Ed25519Peer), target);
        Assert.True(relayed.Decapsulate("/p2p-circuit").TryGetPeerId(out var relay));
        Assert.Equal(PeerId.Parse(QmPeer), relay);
        Assert.False(relayed.Decapsulate($"/p2p/{QmPeer}").TryGetPeerId(out _));
    }

    [Fact]
    public void Encapsulate_over_the_limit_throws()
    {
        var big = Multiaddr.Parse(string.Concat(Enumerable.Repeat("/dns/" + new string('a', 250), 3)));
        Assert.Throws<ArgumentException>(() => big.Encapsulate(big));
    }

    [Fact]
    public void Equality_is_by_bytes()
    {
        Assert.Equal(Multiaddr.Parse("/ip6/0:0::1/tcp/1"), Multiaddr.Parse("/ip6/::1/tcp/1"));
        Assert.NotEqual(Multiaddr.Parse("/ip4/1.2.3.4/tcp/1"), Multiaddr.Parse("/ip4/1.2.3.4/udp/1"));
        Assert.True(Multiaddr.Parse("/tls") == Multiaddr.Parse("/tls/"));
        Assert.True(Multiaddr.Parse("/tls") != Multiaddr.Parse("/noise"));
        Assert.False(Multiaddr.Parse("/tls").Equals(null));
    }

    [Fact]
    public void Bytes_cannot_be_mutated_from_outside()
    {
        var input = Convert.FromHexString("04c000022a0601bb");
        var addr = Multiaddr.FromBytes(input);
        input[1] = 0;
        var copy = addr.ToArray();
        copy[2] = 0;
        Assert.Equal("/ip4/192.0.2.42/tcp/443", addr.ToString());
        Assert.Equal("04c000022a0601bb", Convert.ToHexStringLower(addr.Bytes.Span));
    }

    [Theory]
    [InlineData("/ip4/127.0.0.1/tcp/4001", "127.0.0.1:4001", "tcp")]
    [InlineData("/ip6/::1/udp/53/quic-v1", "[::1]:53", "udp")]
    [InlineData("/ip4/10.1.2.3/tcp/0/p2p/" + QmPeer, "10.1.2.3:0", "tcp")]
    public void To_ip_endpoint(string text, string endpoint, string transport)
    {
        var addr = Multiaddr.Parse(text);
        Assert.Equal(IPEndPoint.Parse(endpoint), addr.ToIPEndPoint());
        Assert.True(addr.TryGetIPEndPoint(out var ep, out var t));
        Assert.Equal(IPEndPoint.Parse(endpoint), ep);
        Assert.Equal(transport, t);
    }

    [Theory]
    [InlineData("/dns4/example.com/tcp/1")]
    [InlineData("/ip4/1.2.3.4")]
    [InlineData("/ip4/1.2.3.4/tls")]
    [InlineData("/tcp/1/ip4/1.2.3.4")]
    [InlineData("/")]
    public void To_ip_endpoint_rejects_other_shapes(string text)
    {
        var addr = Multiaddr.Parse(text);
        Assert.False(addr.TryGetIPEndPoint(out _, out _));
        Assert.Throws<InvalidOperationException>(addr.ToIPEndPoint);
    }

    [Fact]
    public void From_ip_endpoint()
    {
        Assert.Equal("/ip4/127.0.0.1/tcp/4001", Multiaddr.FromIPEndPoint(IPEndPoint.Parse("127.0.0.1:4001")).ToString());
        Assert.Equal("/ip6/::1/udp/9", Multiaddr.FromIPEndPoint(IPEndPoint.Parse("[::1]:9"), "udp").ToString());
        // Dual-mode sockets report IPv4 peers as ::ffff:a.b.c.d.
        Assert.Equal("/ip4/1.2.3.4/tcp/5", Multiaddr.FromIPEndPoint(IPEndPoint.Parse("[::ffff:1.2.3.4]:5")).ToString());
        var scoped = Multiaddr.FromIPEndPoint(new IPEndPoint(IPAddress.Parse("fe80::1%3"), 7));
        Assert.Equal("/ip6zone/3/ip6/fe80::1/tcp/7", scoped.ToString());
        Assert.Equal(3, scoped.ToIPEndPoint().Address.ScopeId);
        Assert.Throws<ArgumentException>(() => Multiaddr.FromIPEndPoint(IPEndPoint.Parse("1.2.3.4:5"), "sctp"));
    }

    [Fact]
    public void Every_protocol_in_the_table_round_trips()
    {
        foreach (var p in MultiaddrProtocols.All)
        {
            var value = p.Kind switch
            {
                MultiaddrValueKind.None => null,
                MultiaddrValueKind.Ip4 => "1.2.3.4",
                MultiaddrValueKind.Ip6 => "::1",
                MultiaddrValueKind.Port => "1",
                MultiaddrValueKind.Name => "x",
                MultiaddrValueKind.PeerId => QmPeer,
                MultiaddrValueKind.Certhash => "uEiAkH5a4DPGKUuOBjYw0CgwjvcJCJMD2K_1aluKR_tpevQ",
                _ => "p",
            };
            var text = value is null ? "/" + p.Name : $"/{p.Name}/{value}";
            var addr = Multiaddr.Parse(text);
            Assert.Equal(text, addr.ToString());
            Assert.Equal(p.Code, addr.Components[0].Code);
            Assert.Equal(addr, Multiaddr.FromBytes(addr.Bytes.Span));
        }
    }
}
