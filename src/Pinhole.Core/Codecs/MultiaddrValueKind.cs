namespace Pinhole.Codecs;

/// <summary>How a multiaddr protocol's value is written in text and in binary.</summary>
internal enum MultiaddrValueKind
{
    /// <summary>No value (<c>/tls</c>, <c>/quic-v1</c>, <c>/p2p-circuit</c>).</summary>
    None,
    /// <summary>4 bytes, dotted quad.</summary>
    Ip4,
    /// <summary>16 bytes, RFC 5952 text.</summary>
    Ip6,
    /// <summary>2 bytes big-endian, decimal.</summary>
    Port,
    /// <summary>Length-prefixed UTF-8 name without '/' or spaces (dns*, sni, ip6zone).</summary>
    Name,
    /// <summary>Length-prefixed PeerId multihash; text as <see cref="Pinhole.PeerId"/> prints and parses it.</summary>
    PeerId,
    /// <summary>Length-prefixed multihash; text is multibase (printed base64url, prefix <c>u</c>).</summary>
    Certhash,
    /// <summary>Length-prefixed UTF-8 path; text is one percent-encoded URI segment.</summary>
    UnixPath,
}
