using Microsoft.Data.Sqlite;

namespace Pinhole.Node.Tests;

/// <summary>Every schema version migrates to the current one with its data; foreign and newer files are refused.</summary>
public sealed class PeerStoreMigrationTests : IDisposable
{
    private readonly TempHome _home = new();
    private string StorePath => _home.File("peers.db");

    public void Dispose() => _home.Dispose();

    public static TheoryData<int> EarlierVersions()
    {
        var data = new TheoryData<int>();
        for (var v = 0; v < PeerStore.CurrentSchemaVersion; v++)
        {
            data.Add(v);
        }
        return data;
    }

    [Fact]
    public void AnEmptyFileBecomesTheCurrentSchema()
    {
        File.WriteAllBytes(StorePath, []);
        using var store = PeerStore.Open(StorePath);
        Assert.Equal(PeerStore.CurrentSchemaVersion, store.SchemaVersion);
        Assert.Empty(store.CheckIntegrity());
        Assert.Equal("wal", Pragma("journal_mode"));
        Assert.Equal(PeerStore.ApplicationId.ToString(System.Globalization.CultureInfo.InvariantCulture), Pragma("application_id"));
    }

    [Theory]
    [MemberData(nameof(EarlierVersions))]
    public void EachEarlierSchemaMigratesWithItsData(int version)
    {
        var peer = NodeIdentity.Generate(Libp2pKeyType.Ed25519).PeerId;
        using (var old = PeerStore.Open(StorePath, new PeerStoreOptions(), version))
        {
            Assert.Equal(version, old.SchemaVersion);
        }
        if (version >= 1)
        {
            // Write rows the way that version's schema holds them.
            Sql($"INSERT INTO peers (peer_id, alias, trust, first_seen, last_seen) VALUES ('{peer}', 'dave', 'pinned', 1000, 2000);");
            Sql($"INSERT INTO addresses (peer_id, address, source, added, last_success, last_failure) VALUES ('{peer}', '/ip4/192.0.2.4/tcp/4001', 'configured', 1000, 1500, 1800);");
        }

        using var store = PeerStore.Open(StorePath);

        Assert.Equal(PeerStore.CurrentSchemaVersion, store.SchemaVersion);
        Assert.Empty(store.CheckIntegrity());
        if (version >= 1)
        {
            var known = store.Get(peer)!;
            Assert.Equal("dave", known.Alias);
            Assert.Equal(PeerTrust.Pinned, known.Trust);
            Assert.False(known.KeepConnected);
            Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(2000), known.LastSeen);
            var address = Assert.Single(known.Addresses);
            Assert.Equal("/ip4/192.0.2.4/tcp/4001", address.Address.ToString());
            Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1800), address.LastFailure);
            // Version 3 derives the failure count: the last failure came after the last success.
            Assert.Equal(version < 3 ? 1 : 0, address.ConsecutiveFailures);
        }
        // The migrated store takes every current write.
        store.Add(peer, keepConnected: true);
        Assert.True(store.Get(peer)!.KeepConnected);
    }

    [Fact]
    public void VersionTwoResolvesDuplicateAliasesOfVersionOne()
    {
        using (PeerStore.Open(StorePath, new PeerStoreOptions(), 1))
        {
        }
        var first = NodeIdentity.Generate(Libp2pKeyType.Ed25519).PeerId;
        var second = NodeIdentity.Generate(Libp2pKeyType.Ed25519).PeerId;
        Sql($"INSERT INTO peers (peer_id, alias, trust, first_seen) VALUES ('{first}', 'twin', 'pinned', 1);");
        Sql($"INSERT INTO peers (peer_id, alias, trust, first_seen) VALUES ('{second}', 'twin', 'pinned', 2);");

        using var store = PeerStore.Open(StorePath);

        Assert.Equal("twin", store.Get(first)!.Alias);
        Assert.Null(store.Get(second)!.Alias);
        Assert.Throws<PeerStoreException>(() => store.Update(second, new PeerUpdate { Alias = "twin" }));
    }

    [Fact]
    public void AFileOfANewerPinholeIsRefused()
    {
        using (PeerStore.Open(StorePath))
        {
        }
        Sql($"PRAGMA user_version = {PeerStore.CurrentSchemaVersion + 1};");
        var error = Assert.Throws<PeerStoreException>(() => PeerStore.Open(StorePath));
        Assert.Contains("newer", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnotherProgramsDatabaseIsRefusedAndLeftAlone()
    {
        Sql("CREATE TABLE notes (text TEXT);");
        var error = Assert.Throws<PeerStoreException>(() => PeerStore.Open(StorePath));
        Assert.Contains("another program", error.Message, StringComparison.Ordinal);
        Assert.Equal("0", Pragma("user_version"));

        Sql("PRAGMA application_id = 1234;");
        Assert.Throws<PeerStoreException>(() => PeerStore.Open(StorePath));
    }

    [Fact]
    public void AFileThatIsNotSqliteIsRefused()
    {
        File.WriteAllText(StorePath, "this is not a database, but it is long enough to have a header of sorts....................................................");
        Assert.Throws<PeerStoreException>(() => PeerStore.Open(StorePath));
    }

    private void Sql(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={StorePath};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private string Pragma(string name)
    {
        using var connection = new SqliteConnection($"Data Source={StorePath};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"PRAGMA {name};";
        return Convert.ToString(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture)!;
    }
}
