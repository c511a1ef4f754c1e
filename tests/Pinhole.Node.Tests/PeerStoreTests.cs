using Microsoft.Extensions.Time.Testing;

namespace Pinhole.Node.Tests;

public sealed class PeerStoreTests : IDisposable
{
    private readonly TempHome _home = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));

    public void Dispose() => _home.Dispose();

    private PeerStore Open(int maxPeers = 10_000, int maxAddresses = 32) =>
        PeerStore.Open(_home.File("peers.db"), new PeerStoreOptions { TimeProvider = _time, MaxPeers = maxPeers, MaxAddressesPerPeer = maxAddresses });

    private static PeerId NewPeer() => NodeIdentity.Generate(Libp2pKeyType.Ed25519).PeerId;

    [Fact]
    public void AddedPeerIsPinnedWithItsAliasAndConfiguredAddresses()
    {
        using var store = Open();
        var peer = NewPeer();
        var added = store.Add(peer, "bob", keepConnected: true, [Multiaddr.Parse("/ip4/192.0.2.1/tcp/4001/p2p/" + peer)]);

        Assert.Equal(PeerTrust.Pinned, added.Trust);
        Assert.Equal("bob", added.Alias);
        Assert.True(added.KeepConnected);
        var address = Assert.Single(added.Addresses);
        Assert.Equal("/ip4/192.0.2.1/tcp/4001", address.Address.ToString());
        Assert.Equal(AddressSource.Configured, address.Source);
        Assert.Equal(_time.GetUtcNow(), added.FirstSeen);
        Assert.Equal(peer, store.Find("bob")!.PeerId);
        Assert.Equal(peer, store.Find(peer.ToString())!.PeerId);
        Assert.Equal([peer], store.KeepConnectedPeers());
    }

    [Fact]
    public void StoreSurvivesReopen()
    {
        var peer = NewPeer();
        using (var store = Open())
        {
            store.Add(peer, "carol", addresses: [Multiaddr.Parse("/ip6/2001:db8::1/tcp/4001")]);
        }
        using (var reopened = Open())
        {
            var known = reopened.Get(peer)!;
            Assert.Equal("carol", known.Alias);
            Assert.Equal("/ip6/2001:db8::1/tcp/4001", Assert.Single(known.Addresses).Address.ToString());
            Assert.Equal(PeerStore.CurrentSchemaVersion, reopened.SchemaVersion);
        }
    }

    [Fact]
    public void AliasesAreUniqueAndValidated()
    {
        using var store = Open();
        var a = NewPeer();
        var b = NewPeer();
        store.Add(a, "alice");
        Assert.Throws<PeerStoreException>(() => store.Add(b, "alice"));
        Assert.Null(store.Get(b)); // the failed transaction left nothing behind
        Assert.Throws<ArgumentException>(() => store.Add(b, "not an alias"));
        Assert.Throws<ArgumentException>(() => store.Add(b, a.ToString()));
        Assert.Throws<ArgumentException>(() => store.Add(b, new string('x', PeerStore.MaxAliasLength + 1)));
        store.Update(a, new PeerUpdate { Alias = "" });
        Assert.Null(store.Get(a)!.Alias);
        store.Add(b, "alice");
        Assert.Equal(b, store.Find("alice")!.PeerId);
    }

    [Fact]
    public void AnAddressNamingAnotherPeerIsRefused()
    {
        using var store = Open();
        var peer = NewPeer();
        var other = NewPeer();
        var error = Assert.Throws<ArgumentException>(() => store.AddAddress(peer, Multiaddr.Parse("/ip4/192.0.2.1/tcp/1/p2p/" + other), AddressSource.Identify));
        Assert.Contains(other.ToString(), error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => store.AddAddress(peer, Multiaddr.Parse("/p2p/" + peer), AddressSource.Identify));
    }

    [Fact]
    public void AddressKeepsItsMostAuthoritativeSource()
    {
        using var store = Open();
        var peer = NewPeer();
        var address = Multiaddr.Parse("/ip4/192.0.2.9/tcp/4001");
        store.AddAddress(peer, address, AddressSource.Observed);
        Assert.Equal(PeerTrust.Seen, store.Get(peer)!.Trust);
        store.AddAddress(peer, address, AddressSource.Coordinator);
        store.AddAddress(peer, address, AddressSource.Identify);
        Assert.Equal(AddressSource.Coordinator, Assert.Single(store.Get(peer)!.Addresses).Source);
        store.AddAddress(peer, address, AddressSource.Configured);
        Assert.Equal(AddressSource.Configured, Assert.Single(store.Get(peer)!.Addresses).Source);
    }

    [Fact]
    public void DialResultsOrderTheAddresses()
    {
        using var store = Open();
        var peer = NewPeer();
        var failing = Multiaddr.Parse("/ip4/192.0.2.1/tcp/1");
        var working = Multiaddr.Parse("/ip4/192.0.2.2/tcp/2");
        var untried = Multiaddr.Parse("/ip4/192.0.2.3/tcp/3");
        store.Add(peer, addresses: [failing, working, untried]);
        store.RecordDial(peer, failing, "connection refused");
        _time.Advance(TimeSpan.FromSeconds(1));
        store.RecordDial(peer, working, null);

        var addresses = store.Get(peer)!.Addresses;
        Assert.Equal([working, untried, failing], addresses.Select(a => a.Address));
        var failed = addresses[2];
        Assert.Equal(1, failed.ConsecutiveFailures);
        Assert.Equal("connection refused", failed.LastError);
        Assert.Equal(_time.GetUtcNow() - TimeSpan.FromSeconds(1), failed.LastFailure);
        Assert.Equal(_time.GetUtcNow(), addresses[0].LastSuccess);

        store.RecordDial(peer, failing, null);
        Assert.Equal(0, store.Get(peer)!.Addresses.Single(a => a.Address == failing).ConsecutiveFailures);
    }

    [Fact]
    public void AConnectStoresTheDialledAddressSuccessWithTheConnection()
    {
        using var store = Open();
        var peer = NewPeer();
        var failing = Multiaddr.Parse("/ip4/192.0.2.1/tcp/1");
        var working = Multiaddr.Parse("/ip4/192.0.2.2/tcp/2");
        store.Add(peer, addresses: [failing, working]);
        store.RecordDial(peer, working, "timed out");
        _time.Advance(TimeSpan.FromSeconds(1));

        store.RecordConnected(peer, PeerTrust.Seen, Multiaddr.Parse($"{working}/p2p/{peer}"));

        var known = store.Get(peer)!;
        Assert.Equal(_time.GetUtcNow(), known.LastSeen);
        Assert.Equal(PeerTrust.Pinned, known.Trust);
        var address = known.Addresses[0];
        Assert.Equal(working, address.Address);
        Assert.Equal(_time.GetUtcNow(), address.LastSuccess);
        Assert.Equal(0, address.ConsecutiveFailures);
        Assert.Null(address.LastError);
        Assert.Throws<ArgumentException>(() => store.RecordConnected(peer, PeerTrust.Seen, Multiaddr.Parse($"{working}/p2p/{NewPeer()}")));
    }

    [Fact]
    public void AddingWhatIsStoredAlreadyWritesNothingAndAnyChangeIsWritten()
    {
        using var store = Open();
        using var other = Open();
        var peer = NewPeer();
        var address = Multiaddr.Parse("/ip4/192.0.2.1/tcp/1");
        store.Add(peer, "bob", keepConnected: true, [address]);
        var version = other.DataVersion;

        // A connect by address repeats this Add: it reads and writes nothing.
        Assert.Equal("bob", store.Add(peer, addresses: [Multiaddr.Parse($"{address}/p2p/{peer}")]).Alias);
        store.Add(peer, "bob", keepConnected: true);
        Assert.Equal(version, other.DataVersion);

        void Changes(Func<KnownPeer> add, Func<KnownPeer, bool> check)
        {
            var before = other.DataVersion;
            Assert.True(check(add()));
            Assert.NotEqual(before, other.DataVersion);
        }
        Changes(() => store.Add(peer, "carol"), p => p.Alias == "carol");
        Changes(() => store.Add(peer, ""), p => p.Alias is null);
        Changes(() => store.Add(peer, keepConnected: false), p => !p.KeepConnected);
        var learned = Multiaddr.Parse("/ip4/192.0.2.2/tcp/2");
        store.AddAddress(peer, learned, AddressSource.Identify);
        Changes(() => store.Add(peer, addresses: [learned]), p => p.Addresses.Single(a => a.Address == learned).Source == AddressSource.Configured);
        store.Update(peer, new PeerUpdate { Pinned = false });
        Changes(() => store.Add(peer), p => p.Trust == PeerTrust.Pinned);
        var fresh = NewPeer();
        Changes(() => store.Add(fresh), p => p.PeerId == fresh);
    }

    [Fact]
    public void ConnectedPeersAreRecordedWithoutLoweringTrust()
    {
        using var store = Open();
        var stranger = NewPeer();
        store.RecordConnected(stranger, PeerTrust.Seen);
        var seen = store.Get(stranger)!;
        Assert.Equal(PeerTrust.Seen, seen.Trust);
        Assert.Equal(_time.GetUtcNow(), seen.LastSeen);

        store.RecordConnected(stranger, PeerTrust.TrustedOnFirstUse);
        Assert.Equal(PeerTrust.TrustedOnFirstUse, store.Get(stranger)!.Trust);

        var pinned = NewPeer();
        store.Add(pinned);
        store.RecordConnected(pinned, PeerTrust.Seen);
        Assert.Equal(PeerTrust.Pinned, store.Get(pinned)!.Trust);
        store.Update(pinned, new PeerUpdate { Pinned = false });
        Assert.Equal(PeerTrust.Seen, store.Get(pinned)!.Trust);
    }

    [Fact]
    public void RemovingAPeerRemovesItsAddresses()
    {
        using var store = Open();
        var peer = NewPeer();
        store.Add(peer, addresses: [Multiaddr.Parse("/ip4/192.0.2.1/tcp/1")]);
        Assert.True(store.Remove(peer));
        Assert.False(store.Remove(peer));
        Assert.Null(store.Get(peer));
        Assert.Empty(store.CheckIntegrity());
        store.Add(peer);
        Assert.Empty(store.Get(peer)!.Addresses);
    }

    [Fact]
    public void AFullStoreEvictsTheStalestUnpinnedPeer()
    {
        using var store = Open(maxPeers: 3);
        var pinned = NewPeer();
        var old = NewPeer();
        var recent = NewPeer();
        store.Add(pinned);
        store.RecordConnected(old, PeerTrust.Seen);
        _time.Advance(TimeSpan.FromMinutes(1));
        store.RecordConnected(recent, PeerTrust.Seen);
        _time.Advance(TimeSpan.FromMinutes(1));
        var newcomer = NewPeer();
        store.RecordConnected(newcomer, PeerTrust.Seen);

        Assert.Equal(3, store.Count);
        Assert.Null(store.Get(old));
        Assert.NotNull(store.Get(pinned));
        Assert.NotNull(store.Get(recent));
        Assert.NotNull(store.Get(newcomer));
    }

    [Fact]
    public void AStoreFullOfPinnedPeersRefusesMore()
    {
        using var store = Open(maxPeers: 2);
        store.Add(NewPeer());
        store.Add(NewPeer());
        Assert.Throws<PeerStoreException>(() => store.Add(NewPeer()));
        Assert.Equal(2, store.Count);
    }

    [Fact]
    public void AddressesPerPeerAreBoundedAndConfiguredOnesStay()
    {
        using var store = Open(maxAddresses: 3);
        var peer = NewPeer();
        var configured = Multiaddr.Parse("/ip4/192.0.2.1/tcp/1");
        store.Add(peer, addresses: [configured]);
        for (var i = 2; i < 20; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            store.AddAddress(peer, Multiaddr.Parse($"/ip4/192.0.2.{i}/tcp/{i}"), AddressSource.Observed);
        }
        var addresses = store.Get(peer)!.Addresses.Select(a => a.Address.ToString()).ToList();
        Assert.Equal(3, addresses.Count);
        Assert.Contains("/ip4/192.0.2.1/tcp/1", addresses);
        Assert.Contains("/ip4/192.0.2.19/tcp/19", addresses);
    }

    [Fact]
    public void InMemoryStoreWorksAndForgets()
    {
        var peer = NewPeer();
        using (var store = PeerStore.Open(null))
        {
            store.Add(peer, "mem");
            Assert.Equal("mem", store.Find("mem")!.Alias);
            Assert.Null(store.Path);
        }
        using var fresh = PeerStore.Open(null);
        Assert.Equal(0, fresh.Count);
    }

    [Fact]
    public void DisposedStoreThrowsObjectDisposed()
    {
        var store = Open();
        store.Dispose();
        store.Dispose();
        Assert.Throws<ObjectDisposedException>(() => store.Count);
    }
}
