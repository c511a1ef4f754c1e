using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;

namespace Pinhole;

/// <summary>
/// A peer plus hints where to find it. The PeerId decides who may answer; hints are never trusted.
/// </summary>
/// <remarks>
/// Text forms accepted by <see cref="Parse"/>:
/// <list type="bullet">
/// <item>libp2p multiaddr: <c>/ip4/127.0.0.1/tcp/4001/p2p/QmPeer…</c> (also <c>/ip6</c>, <c>/dns4</c>, <c>/dns6</c>, <c>/dns</c>);</item>
/// <item>Pinhole URI: <c>pinhole://QmPeer….tcp?host=127.0.0.1&amp;port=4001</c> (the OCapN locator shape);</item>
/// <item>a bare PeerId (no hint: must be found some other way) or <c>host:port</c> (no PeerId: trust on first use only).</item>
/// </list>
/// </remarks>
public sealed class PeerAddress
{
    /// <summary>URI scheme of Pinhole's own form.</summary>
    public const string UriScheme = "pinhole";

    /// <summary>Longest text <see cref="Parse"/> accepts (checked first).</summary>
    public const int MaxTextLength = 4096;

    /// <summary>Creates an address.</summary>
    public PeerAddress(PeerId? peerId, IEnumerable<Multiaddr> hints)
    {
        ArgumentNullException.ThrowIfNull(hints);
        PeerId = peerId;
        Hints = [.. hints];
    }

    /// <summary>The peer, or null if the dialer will accept whoever answers (trust on first use).</summary>
    public PeerId? PeerId { get; }

    /// <summary>Transport addresses to try, without the <c>/p2p</c> part, in order.</summary>
    public IReadOnlyList<Multiaddr> Hints { get; }

    /// <summary>Parses any accepted text form; throws <see cref="FormatException"/> saying what is wrong.</summary>
    public static PeerAddress Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length > MaxTextLength)
        {
            throw new FormatException($"A peer address is at most {MaxTextLength} characters; this one has {text.Length}.");
        }
        text = text.Trim();
        if (text.Length == 0)
        {
            throw new FormatException("Empty peer address.");
        }
        if (text.StartsWith('/'))
        {
            return ParseMultiaddr(text);
        }
        if (text.StartsWith(UriScheme + "://", StringComparison.OrdinalIgnoreCase))
        {
            return ParseUri(text);
        }
        if (Pinhole.PeerId.TryParse(text, out var id, out _))
        {
            return new PeerAddress(id, []);
        }
        if (TrySplitHostPort(text, out var host, out var port))
        {
            return new PeerAddress(null, [HostPortToMultiaddr(host, port)]);
        }
        throw new FormatException($"'{text}' is not a peer address: expected a multiaddr (/ip4/…/tcp/…/p2p/<id>), pinhole://<id>.tcp?host=…&port=…, a PeerId or host:port.");
    }

    /// <summary>Tries to parse.</summary>
    public static bool TryParse(string text, [NotNullWhen(true)] out PeerAddress? address)
    {
        try
        {
            address = Parse(text);
            return true;
        }
        catch (FormatException)
        {
            address = null;
            return false;
        }
    }

    /// <summary>An address for a peer at a multiaddr.</summary>
    public static PeerAddress FromMultiaddr(Multiaddr multiaddr) => ParseMultiaddr(multiaddr.ToString());

    private static PeerAddress ParseMultiaddr(string text)
    {
        var index = text.LastIndexOf("/p2p/", StringComparison.Ordinal);
        var ipfsIndex = text.LastIndexOf("/ipfs/", StringComparison.Ordinal);
        var length = 5;
        if (ipfsIndex > index)
        {
            index = ipfsIndex;
            length = 6;
        }
        PeerId? id = null;
        var transport = text;
        if (index >= 0)
        {
            var idText = text[(index + length)..].TrimEnd('/');
            if (idText.Contains('/', StringComparison.Ordinal))
            {
                throw new FormatException($"'{text}': /p2p/<id> must end the address (a relayed address ends in /p2p/<relay>/p2p-circuit/p2p/<peer>).");
            }
            id = Pinhole.PeerId.Parse(idText);
            transport = text[..index];
        }
        return new PeerAddress(id, transport.Length == 0 ? [] : [Multiaddr.Parse(transport)]);
    }

    private static PeerAddress ParseUri(string text)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri))
        {
            throw new FormatException($"'{text}' is not a valid URI.");
        }
        var authority = text[(UriScheme.Length + 3)..];
        var end = authority.IndexOfAny(['?', '/', '#']);
        if (end >= 0)
        {
            authority = authority[..end];
        }
        var dot = authority.LastIndexOf('.');
        if (dot <= 0)
        {
            throw new FormatException($"'{text}': expected pinhole://<PeerId>.<netlayer>?host=…&port=….");
        }
        var netlayer = authority[(dot + 1)..];
        if (netlayer != "tcp")
        {
            throw new FormatException($"'{text}': unknown netlayer '{netlayer}' (supported: tcp).");
        }
        var id = Pinhole.PeerId.Parse(authority[..dot]);
        string? host = null;
        string? port = null;
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            var key = eq < 0 ? pair : pair[..eq];
            var value = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..]);
            switch (key)
            {
                case "host":
                    host = value;
                    break;
                case "port":
                    port = value;
                    break;
                default:
                    break; // unknown hints are ignored, as OCapN does
            }
        }
        if (host is null || port is null)
        {
            return new PeerAddress(id, []);
        }
        if (!ushort.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var portNumber))
        {
            throw new FormatException($"'{text}': port '{port}' is not a number from 0 to 65535.");
        }
        return new PeerAddress(id, [HostPortToMultiaddr(host.Trim('[', ']'), portNumber)]);
    }

    private static bool TrySplitHostPort(string text, out string host, out ushort port)
    {
        host = "";
        port = 0;
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || !ushort.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out port))
        {
            return false;
        }
        host = text[..colon].Trim('[', ']');
        return host.Length > 0;
    }

    private static Multiaddr HostPortToMultiaddr(string host, ushort port)
    {
        if (IPAddress.TryParse(host, out var ip))
        {
            return Multiaddr.FromIPEndPoint(new IPEndPoint(ip, port), "tcp");
        }
        return Multiaddr.Parse($"/dns/{host}/tcp/{port.ToString(CultureInfo.InvariantCulture)}");
    }

    /// <summary>The multiaddr form when there is one hint (the common case), else the Pinhole URI or bare PeerId.</summary>
    public override string ToString()
    {
        if (Hints.Count == 0)
        {
            return PeerId?.ToString() ?? "(no address)";
        }
        var first = Hints[0].ToString();
        return PeerId is null ? first : $"{first}/p2p/{PeerId}";
    }
}
