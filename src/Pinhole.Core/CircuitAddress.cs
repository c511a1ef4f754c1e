using System.Diagnostics.CodeAnalysis;
using Pinhole.Codecs;

namespace Pinhole;

/// <summary>
/// A circuit relay address (libp2p/specs relay/circuit-v2.md): a peer reached through a relay,
/// <c>/ip4/198.51.100.1/tcp/4001/p2p/&lt;relay&gt;/p2p-circuit/p2p/&lt;peer&gt;</c>. The part before
/// <c>/p2p-circuit</c> names the relay and where to find it (it may be just <c>/p2p/&lt;relay&gt;</c>); the part after
/// names the destination, or nothing in the form a client listens on (<c>…/p2p/&lt;relay&gt;/p2p-circuit</c>).
/// </summary>
/// <remarks>
/// Binary form, as any multiaddr: <c>[relay transport] a5 03 len relay-multihash  a2 02  [a5 03 len peer-multihash]</c>
/// (<c>a2 02</c> = varint 0x0122, <c>p2p-circuit</c>). Relay chains (two <c>/p2p-circuit</c>) are refused: no
/// implementation relays through a relayed connection (relays answer PERMISSION_DENIED). A doubled relay id
/// (<c>/p2p/R/p2p/R/p2p-circuit</c>, go-libp2p#3003) is accepted and printed once.
/// </remarks>
public sealed class CircuitAddress : IEquatable<CircuitAddress>
{
    private CircuitAddress(Multiaddr relayTransport, PeerId relay, PeerId? destination)
    {
        RelayTransport = relayTransport;
        Relay = relay;
        Destination = destination;
    }

    /// <summary>Where the relay listens, without its <c>/p2p</c> part (empty when the address names only the relay's id).</summary>
    public Multiaddr RelayTransport { get; }

    /// <summary>The relay.</summary>
    public PeerId Relay { get; }

    /// <summary>The peer behind the relay, or null for the listen form <c>…/p2p-circuit</c>.</summary>
    public PeerId? Destination { get; }

    /// <summary>The relay's own address, <c>RelayTransport/p2p/Relay</c>.</summary>
    public Multiaddr RelayAddress => RelayTransport.Encapsulate(Relay);

    /// <summary>The relay as a dialable <see cref="PeerAddress"/> (no hints when <see cref="RelayTransport"/> is empty).</summary>
    public PeerAddress RelayPeerAddress => new(Relay, RelayTransport.IsEmpty ? [] : [RelayTransport]);

    /// <summary>True when <paramref name="address"/> contains <c>/p2p-circuit</c>.</summary>
    public static bool IsCircuit(Multiaddr address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return address.Components.Any(static c => c.Code == MultiaddrProtocols.P2pCircuit.Code);
    }

    /// <summary>The address of <paramref name="destination"/> behind the relay at <paramref name="relayAddress"/> (which must end in <c>/p2p/&lt;relay&gt;</c>).</summary>
    /// <exception cref="ArgumentException"><paramref name="relayAddress"/> does not end in <c>/p2p</c> or is itself relayed.</exception>
    public static CircuitAddress Create(Multiaddr relayAddress, PeerId? destination)
    {
        ArgumentNullException.ThrowIfNull(relayAddress);
        if (IsCircuit(relayAddress))
        {
            throw new ArgumentException($"The relay address {relayAddress} is itself relayed; relay chains are not supported.", nameof(relayAddress));
        }
        if (!relayAddress.TryGetPeerId(out var relay))
        {
            throw new ArgumentException($"The relay address {relayAddress} must end in /p2p/<relay PeerId>.", nameof(relayAddress));
        }
        var transport = StripTrailingId(relayAddress.DecapsulateCode(MultiaddrProtocols.P2p.Code), relay);
        if (transport.Components.Any(static c => c.Code == MultiaddrProtocols.P2p.Code))
        {
            throw new ArgumentException($"The relay address {relayAddress} names more than one peer.", nameof(relayAddress));
        }
        return new CircuitAddress(transport, relay, destination);
    }

    /// <summary>Parses a circuit address; throws <see cref="FormatException"/> saying what is wrong.</summary>
    public static CircuitAddress Parse(Multiaddr address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return TryParse(address, out var result, out var error) ? result : throw new FormatException(error);
    }

    /// <summary>Parses the text form of a circuit address.</summary>
    public static CircuitAddress Parse(string text) => Parse(Multiaddr.Parse(text));

    /// <summary>Parses a circuit address; false (with no exception) when it is not one.</summary>
    public static bool TryParse(Multiaddr address, [NotNullWhen(true)] out CircuitAddress? result) => TryParse(address, out result, out _);

    private static bool TryParse(Multiaddr address, [NotNullWhen(true)] out CircuitAddress? result, [NotNullWhen(false)] out string? error)
    {
        result = null;
        var components = address.Components;
        var circuit = -1;
        for (var i = 0; i < components.Count; i++)
        {
            if (components[i].Code != MultiaddrProtocols.P2pCircuit.Code)
            {
                continue;
            }
            if (circuit >= 0)
            {
                error = $"'{address}' has more than one /p2p-circuit; relay chains are not supported.";
                return false;
            }
            circuit = i;
        }
        if (circuit < 0)
        {
            error = $"'{address}' is not a relayed address: it has no /p2p-circuit.";
            return false;
        }
        if (circuit == 0 || components[circuit - 1].Code != MultiaddrProtocols.P2p.Code)
        {
            error = $"'{address}': /p2p-circuit must follow /p2p/<relay PeerId>.";
            return false;
        }
        var relay = PeerId.FromMultihash(components[circuit - 1].RawValue.Span);
        PeerId? destination = null;
        var after = components.Count - circuit - 1;
        if (after == 1 && components[^1].Code == MultiaddrProtocols.P2p.Code)
        {
            destination = PeerId.FromMultihash(components[^1].RawValue.Span);
        }
        else if (after != 0)
        {
            error = $"'{address}': only /p2p/<destination PeerId> may follow /p2p-circuit.";
            return false;
        }
        var transport = StripTrailingId(Join(components, 0, circuit - 1), relay);
        if (transport.Components.Any(static c => c.Code == MultiaddrProtocols.P2p.Code))
        {
            error = $"'{address}': the relay part names more than one peer.";
            return false;
        }
        result = new CircuitAddress(transport, relay, destination);
        error = null;
        return true;
    }

    /// <summary>This address for another destination (e.g. the listen form plus a peer).</summary>
    public CircuitAddress WithDestination(PeerId? destination) => new(RelayTransport, Relay, destination);

    /// <summary>The multiaddr: <c>RelayTransport/p2p/Relay/p2p-circuit[/p2p/Destination]</c>.</summary>
    public Multiaddr ToMultiaddr()
    {
        var circuit = RelayAddress.Encapsulate(Multiaddr.Parse("/p2p-circuit"));
        return Destination is null ? circuit : circuit.Encapsulate(Destination);
    }

    /// <inheritdoc/>
    public override string ToString() => ToMultiaddr().ToString();

    /// <inheritdoc/>
    public bool Equals(CircuitAddress? other) => other is not null && ToMultiaddr() == other.ToMultiaddr();

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as CircuitAddress);

    /// <inheritdoc/>
    public override int GetHashCode() => ToMultiaddr().GetHashCode();

    private static Multiaddr StripTrailingId(Multiaddr transport, PeerId relay)
    {
        while (transport.TryGetPeerId(out var id) && id.Equals(relay))
        {
            transport = transport.DecapsulateCode(MultiaddrProtocols.P2p.Code);
        }
        return transport;
    }

    private static Multiaddr Join(IReadOnlyList<MultiaddrComponent> components, int start, int end)
    {
        var length = 0;
        for (var i = start; i < end; i++)
        {
            length += components[i].Encoded.Length;
        }
        var bytes = new byte[length];
        var at = 0;
        for (var i = start; i < end; i++)
        {
            components[i].Encoded.Span.CopyTo(bytes.AsSpan(at));
            at += components[i].Encoded.Length;
        }
        return Multiaddr.FromBytes(bytes);
    }
}
