using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Pinhole.Codecs;

namespace Pinhole;

/// <summary>
/// A libp2p multiaddr (multiformats/multiaddr): a self-describing network address such as
/// <c>/ip4/198.51.100.7/tcp/4001/p2p/12D3KooW...</c>. Immutable; two multiaddrs are equal when
/// their binary forms are equal.
/// </summary>
/// <remarks>
/// Binary form, one component after another with no separator (docs/addresses.md has examples):
/// <code>
/// component = varint(code) value
/// value     = (nothing)                  protocols without a value: tls, ws, quic-v1, p2p-circuit ...
///           | fixed bytes                ip4: 4, ip6: 16, tcp/udp: 2 (big-endian port)
///           | varint(length) bytes       dns*, sni, p2p, certhash, unix, ip6zone
/// </code>
/// </remarks>
public sealed class Multiaddr : IEquatable<Multiaddr>
{
    /// <summary>Longest binary form accepted, checked before anything is allocated.</summary>
    public const int MaxBinaryLength = 1024;

    /// <summary>Longest text form accepted (percent escapes and base58 make text longer than binary).</summary>
    public const int MaxTextLength = 4096;

    private readonly byte[] _bytes;
    private readonly MultiaddrComponent[] _components;
    private readonly System.Collections.ObjectModel.ReadOnlyCollection<MultiaddrComponent> _readOnlyComponents;

    private Multiaddr(byte[] bytes, MultiaddrComponent[] components)
    {
        _bytes = bytes;
        _components = components;
        _readOnlyComponents = Array.AsReadOnly(components);
    }

    /// <summary>The empty multiaddr, printed <c>/</c>.</summary>
    public static Multiaddr Empty { get; } = new([], []);

    /// <summary>The components, in order.</summary>
    public IReadOnlyList<MultiaddrComponent> Components => _readOnlyComponents;

    /// <summary>The binary form.</summary>
    public ReadOnlyMemory<byte> Bytes => _bytes;

    /// <summary>True for the empty multiaddr.</summary>
    public bool IsEmpty => _bytes.Length == 0;

    /// <summary>Copies the binary form out.</summary>
    public byte[] ToArray() => (byte[])_bytes.Clone();

    /// <summary>Parses the text form, e.g. <c>/ip4/127.0.0.1/tcp/4001</c>.</summary>
    /// <exception cref="FormatException">The text is not a valid multiaddr; the message says which component and why.</exception>
    public static Multiaddr Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Decode(EncodeText(text));
    }

    /// <summary>Parses the text form; false when it is not a valid multiaddr.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, [NotNullWhen(true)] out Multiaddr? result)
    {
        result = null;
        if (text is null)
        {
            return false;
        }
        try
        {
            result = Parse(text);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>Decodes the binary form (as carried in identify messages and relay protocols).</summary>
    /// <exception cref="FormatException">The bytes are not a valid multiaddr; the message gives the offset and the reason.</exception>
    public static Multiaddr FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > MaxBinaryLength)
        {
            throw new FormatException($"Multiaddr is {bytes.Length} bytes long; at most {MaxBinaryLength} are accepted.");
        }
        return Decode(bytes.ToArray());
    }

    /// <summary>Decodes the binary form; false when it is not a valid multiaddr.</summary>
    public static bool TryFromBytes(ReadOnlySpan<byte> bytes, [NotNullWhen(true)] out Multiaddr? result)
    {
        result = null;
        try
        {
            result = FromBytes(bytes);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>The canonical text form.</summary>
    public override string ToString()
    {
        if (_components.Length == 0)
        {
            return "/";
        }
        var text = new StringBuilder();
        foreach (var component in _components)
        {
            text.Append('/').Append(component.Protocol);
            if (component.Value is not null)
            {
                text.Append('/').Append(component.Value);
            }
        }
        return text.ToString();
    }

    /// <summary>Returns this address followed by <paramref name="inner"/>, e.g. <c>/ip4/1.2.3.4/tcp/1</c> + <c>/p2p/Qm..</c>.</summary>
    /// <exception cref="ArgumentException">The result would exceed <see cref="MaxBinaryLength"/>.</exception>
    public Multiaddr Encapsulate(Multiaddr inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        if (_bytes.Length + inner._bytes.Length > MaxBinaryLength)
        {
            throw new ArgumentException($"The encapsulated multiaddr would be {_bytes.Length + inner._bytes.Length} bytes long; at most {MaxBinaryLength} are allowed.", nameof(inner));
        }
        return new Multiaddr([.. _bytes, .. inner._bytes], [.. _components, .. inner._components]);
    }

    /// <summary>Parses <paramref name="inner"/> and encapsulates it.</summary>
    public Multiaddr Encapsulate(string inner) => Encapsulate(Parse(inner));

    /// <summary>
    /// Removes the last occurrence of <paramref name="outer"/>'s components and everything after it
    /// (as go-multiaddr does). Returns this address unchanged when <paramref name="outer"/> does not occur.
    /// </summary>
    public Multiaddr Decapsulate(Multiaddr outer)
    {
        ArgumentNullException.ThrowIfNull(outer);
        var n = outer._components.Length;
        if (n == 0)
        {
            return this;
        }
        for (var start = _components.Length - n; start >= 0; start--)
        {
            var match = true;
            for (var j = 0; j < n && match; j++)
            {
                match = _components[start + j].Encoded.Span.SequenceEqual(outer._components[j].Encoded.Span);
            }
            if (match)
            {
                return Take(start);
            }
        }
        return this;
    }

    /// <summary>Parses <paramref name="outer"/> and decapsulates it.</summary>
    public Multiaddr Decapsulate(string outer) => Decapsulate(Parse(outer));

    /// <summary>
    /// Removes the last component with protocol <paramref name="code"/> and everything after it;
    /// returns this address unchanged when there is none. <c>DecapsulateCode(0x01a5)</c> drops a trailing <c>/p2p</c>.
    /// </summary>
    public Multiaddr DecapsulateCode(int code)
    {
        for (var i = _components.Length - 1; i >= 0; i--)
        {
            if (_components[i].Code == code)
            {
                return Take(i);
            }
        }
        return this;
    }

    private Multiaddr Take(int count)
    {
        if (count == 0)
        {
            return Empty;
        }
        var length = 0;
        for (var i = 0; i < count; i++)
        {
            length += _components[i].Encoded.Length;
        }
        return Decode(_bytes[..length]);
    }

    /// <summary>Gets the peer named by the last component, when it is <c>/p2p/&lt;peer id&gt;</c>.</summary>
    public bool TryGetPeerId([NotNullWhen(true)] out PeerId? peerId)
    {
        peerId = null;
        if (_components.Length == 0 || _components[^1].Code != MultiaddrProtocols.P2p.Code)
        {
            return false;
        }
        peerId = PeerId.FromMultihash(_components[^1].RawValue.Span); // validated when decoded
        return true;
    }

    /// <summary>Returns this address followed by <c>/p2p/&lt;peer&gt;</c>.</summary>
    public Multiaddr Encapsulate(PeerId peer)
    {
        ArgumentNullException.ThrowIfNull(peer);
        var writer = new ArrayBufferWriter<byte>(48);
        WriteComponent(writer, MultiaddrProtocols.P2p, peer.Multihash.Span);
        return Encapsulate(Decode(writer.WrittenSpan.ToArray()));
    }

    /// <summary>
    /// Reads the IP endpoint from the first components: <c>/ip4|ip6/.../tcp|udp/port</c>, optionally
    /// preceded by <c>/ip6zone/&lt;numeric scope&gt;</c>. Later components (e.g. <c>/p2p</c>) are ignored.
    /// </summary>
    /// <param name="endPoint">The endpoint.</param>
    /// <param name="transport"><c>tcp</c> or <c>udp</c>.</param>
    public bool TryGetIPEndPoint([NotNullWhen(true)] out IPEndPoint? endPoint, [NotNullWhen(true)] out string? transport)
    {
        endPoint = null;
        transport = null;
        var i = 0;
        long scope = 0;
        if (_components.Length > 0 && _components[0].Code == MultiaddrProtocols.Ip6Zone.Code)
        {
            if (!long.TryParse(_components[0].Value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out scope)
                || scope > uint.MaxValue || _components.Length < 2 || _components[1].Code != MultiaddrProtocols.Ip6.Code)
            {
                return false;
            }
            i = 1;
        }
        if (_components.Length < i + 2)
        {
            return false;
        }
        var ip = _components[i];
        var port = _components[i + 1];
        if ((ip.Code != MultiaddrProtocols.Ip4.Code && ip.Code != MultiaddrProtocols.Ip6.Code)
            || (port.Code != MultiaddrProtocols.Tcp.Code && port.Code != MultiaddrProtocols.Udp.Code))
        {
            return false;
        }
        var address = new IPAddress(ip.RawValue.Span);
        if (scope != 0)
        {
            address.ScopeId = scope;
        }
        endPoint = new IPEndPoint(address, BinaryPrimitives.ReadUInt16BigEndian(port.RawValue.Span));
        transport = port.Protocol;
        return true;
    }

    /// <summary>The IP endpoint of an <c>/ip4|ip6/.../tcp|udp/port</c> address (see <see cref="TryGetIPEndPoint"/>).</summary>
    /// <exception cref="InvalidOperationException">The address does not start with an IP address and a TCP or UDP port.</exception>
    public IPEndPoint ToIPEndPoint()
    {
        if (!TryGetIPEndPoint(out var endPoint, out _))
        {
            throw new InvalidOperationException($"The multiaddr {this} does not start with /ip4 or /ip6 followed by /tcp or /udp.");
        }
        return endPoint;
    }

    /// <summary>
    /// Builds <c>/ip4|ip6/&lt;address&gt;/tcp|udp/&lt;port&gt;</c>. IPv4-mapped IPv6 addresses (from dual-mode
    /// sockets) become <c>/ip4</c>; a non-zero IPv6 scope becomes a leading <c>/ip6zone/&lt;scope&gt;</c>.
    /// </summary>
    /// <param name="endPoint">The endpoint.</param>
    /// <param name="transport"><c>tcp</c> (default) or <c>udp</c>.</param>
    public static Multiaddr FromIPEndPoint(IPEndPoint endPoint, string transport = "tcp")
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        var port = transport switch
        {
            "tcp" => MultiaddrProtocols.Tcp,
            "udp" => MultiaddrProtocols.Udp,
            _ => throw new ArgumentException($"Transport must be \"tcp\" or \"udp\", not \"{transport}\".", nameof(transport)),
        };
        var address = endPoint.Address;
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        var writer = new ArrayBufferWriter<byte>(32);
        if (address.AddressFamily == AddressFamily.InterNetworkV6 && address.ScopeId != 0)
        {
            WriteComponent(writer, MultiaddrProtocols.Ip6Zone, Encoding.ASCII.GetBytes(address.ScopeId.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
        var ipProtocol = address.AddressFamily switch
        {
            AddressFamily.InterNetwork => MultiaddrProtocols.Ip4,
            AddressFamily.InterNetworkV6 => MultiaddrProtocols.Ip6,
            _ => throw new ArgumentException($"Address family {address.AddressFamily} is not IPv4 or IPv6.", nameof(endPoint)),
        };
        WriteComponent(writer, ipProtocol, address.GetAddressBytes());
        var portBytes = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(portBytes, (ushort)endPoint.Port);
        WriteComponent(writer, port, portBytes);
        return Decode(writer.WrittenSpan.ToArray());
    }

    /// <inheritdoc/>
    public bool Equals(Multiaddr? other) => other is not null && _bytes.AsSpan().SequenceEqual(other._bytes);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as Multiaddr);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.AddBytes(_bytes);
        return hash.ToHashCode();
    }

    /// <summary>Equality by binary form.</summary>
    public static bool operator ==(Multiaddr? left, Multiaddr? right) => left is null ? right is null : left.Equals(right);

    /// <summary>Inequality by binary form.</summary>
    public static bool operator !=(Multiaddr? left, Multiaddr? right) => !(left == right);

    private static byte[] EncodeText(string text)
    {
        if (text.Length == 0)
        {
            throw new FormatException("Empty multiaddr text; the empty multiaddr is written \"/\".");
        }
        if (text.Length > MaxTextLength)
        {
            throw new FormatException($"Multiaddr text is {text.Length} characters long; at most {MaxTextLength} are accepted.");
        }
        if (text[0] != '/')
        {
            throw new FormatException($"Multiaddr text must start with '/': \"{Shorten(text)}\".");
        }
        if (text.EndsWith("//", StringComparison.Ordinal))
        {
            throw new FormatException($"Multiaddr text ends with an empty component: \"{Shorten(text)}\".");
        }
        var body = text.AsSpan(1);
        if (body.Length > 0 && body[^1] == '/')
        {
            body = body[..^1]; // one trailing slash is tolerated, as go- and js-multiaddr do
        }
        var writer = new ArrayBufferWriter<byte>(64);
        var index = 0;
        while (!body.IsEmpty)
        {
            index++;
            var name = NextToken(ref body);
            if (name.IsEmpty)
            {
                throw new FormatException($"Empty protocol name in component {index} of \"{Shorten(text)}\" (two slashes in a row?).");
            }
            if (!MultiaddrProtocols.TryGetByName(name, out var protocol))
            {
                throw new FormatException($"Unknown multiaddr protocol '{Shorten(name.ToString())}' in component {index} of \"{Shorten(text)}\".");
            }
            if (!protocol.HasValue)
            {
                WriteComponent(writer, protocol, []);
                continue;
            }
            if (body.IsEmpty)
            {
                throw new FormatException($"Protocol '{protocol.Name}' (component {index}) needs a value, but the multiaddr ends.");
            }
            var valueText = NextToken(ref body).ToString();
            if (valueText.Length == 0)
            {
                throw new FormatException($"Protocol '{protocol.Name}' (component {index}) has an empty value.");
            }
            byte[] value;
            try
            {
                value = MultiaddrValues.Parse(protocol, valueText);
            }
            catch (FormatException e)
            {
                throw new FormatException($"Invalid value for /{protocol.Name} (component {index}): {e.Message}", e);
            }
            WriteComponent(writer, protocol, value);
            if (writer.WrittenCount > MaxBinaryLength)
            {
                throw new FormatException($"Multiaddr is longer than {MaxBinaryLength} bytes in binary form.");
            }
        }
        return writer.WrittenSpan.ToArray();
    }

    private static ReadOnlySpan<char> NextToken(ref ReadOnlySpan<char> body)
    {
        var slash = body.IndexOf('/');
        ReadOnlySpan<char> token;
        if (slash < 0)
        {
            token = body;
            body = [];
        }
        else
        {
            token = body[..slash];
            body = body[(slash + 1)..];
        }
        return token;
    }

    private static void WriteComponent(ArrayBufferWriter<byte> writer, MultiaddrProtocol protocol, ReadOnlySpan<byte> value)
    {
        var span = writer.GetSpan(Varint.MaxMultiformatsLength * 2 + value.Length);
        var n = Varint.Write(span, (ulong)protocol.Code);
        if (protocol.FixedSize < 0)
        {
            n += Varint.Write(span[n..], (ulong)value.Length);
        }
        value.CopyTo(span[n..]);
        writer.Advance(n + value.Length);
    }

    /// <summary>Decodes and validates the binary form; <paramref name="bytes"/> is owned by the result.</summary>
    private static Multiaddr Decode(byte[] bytes)
    {
        if (bytes.Length > MaxBinaryLength)
        {
            throw new FormatException($"Multiaddr is {bytes.Length} bytes long; at most {MaxBinaryLength} are accepted.");
        }
        if (bytes.Length == 0)
        {
            return Empty;
        }
        var components = new List<MultiaddrComponent>();
        var offset = 0;
        while (offset < bytes.Length)
        {
            var start = offset;
            var status = Varint.TryRead(bytes.AsSpan(offset), out var code, out var read);
            if (status == Varint.ReadStatus.NeedMoreData)
            {
                throw new FormatException($"Truncated multiaddr: the protocol code at offset {offset} is cut off.");
            }
            if (status == Varint.ReadStatus.Invalid)
            {
                throw new FormatException($"Invalid protocol code varint at offset {offset}.");
            }
            if (!MultiaddrProtocols.TryGetByCode(code, out var protocol))
            {
                throw new FormatException($"Unknown multiaddr protocol code 0x{code:x} at offset {offset}.");
            }
            offset += read;
            int length;
            if (protocol.FixedSize >= 0)
            {
                length = protocol.FixedSize;
            }
            else
            {
                status = Varint.TryRead(bytes.AsSpan(offset), out var declared, out read);
                if (status == Varint.ReadStatus.NeedMoreData)
                {
                    throw new FormatException($"Truncated multiaddr: the length of /{protocol.Name} at offset {offset} is cut off.");
                }
                if (status == Varint.ReadStatus.Invalid)
                {
                    throw new FormatException($"Invalid length varint for /{protocol.Name} at offset {offset}.");
                }
                offset += read;
                if (declared > (ulong)(bytes.Length - offset))
                {
                    throw new FormatException($"Truncated multiaddr: /{protocol.Name} declares {declared} bytes at offset {offset} but only {bytes.Length - offset} remain.");
                }
                length = (int)declared;
            }
            if (bytes.Length - offset < length)
            {
                throw new FormatException($"Truncated multiaddr: /{protocol.Name} needs {length} bytes at offset {offset} but only {bytes.Length - offset} remain.");
            }
            var raw = new ReadOnlyMemory<byte>(bytes, offset, length);
            string? value = null;
            if (protocol.HasValue)
            {
                try
                {
                    value = MultiaddrValues.Format(protocol, raw.Span);
                }
                catch (FormatException e)
                {
                    throw new FormatException($"Invalid value for /{protocol.Name} at offset {offset}: {e.Message}", e);
                }
            }
            offset += length;
            components.Add(new MultiaddrComponent(protocol.Name, protocol.Code, value, raw, new ReadOnlyMemory<byte>(bytes, start, offset - start)));
        }
        return new Multiaddr(bytes, [.. components]);
    }

    private static string Shorten(string text) => text.Length <= 80 ? text : text[..80] + "...";
}
