namespace Pinhole.Codecs;

/// <summary>One row of the multiaddr protocol table (multiformats/multicodec table.csv, tag "multiaddr").</summary>
/// <param name="Name">Text name, e.g. <c>tcp</c>.</param>
/// <param name="Code">Multicodec code, written as a varint before the value.</param>
/// <param name="Kind">How the value is encoded.</param>
internal sealed record MultiaddrProtocol(string Name, int Code, MultiaddrValueKind Kind)
{
    /// <summary>Size of a fixed-size value in bytes; 0 for no value; -1 for a length-prefixed value.</summary>
    public int FixedSize => Kind switch
    {
        MultiaddrValueKind.None => 0,
        MultiaddrValueKind.Ip4 => 4,
        MultiaddrValueKind.Ip6 => 16,
        MultiaddrValueKind.Port => 2,
        _ => -1,
    };

    /// <summary>True when the protocol carries a value.</summary>
    public bool HasValue => Kind != MultiaddrValueKind.None;
}
