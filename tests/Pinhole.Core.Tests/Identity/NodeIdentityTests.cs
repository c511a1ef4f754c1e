using System.Security.Cryptography;

namespace Pinhole.Core.Tests.Identity;

public sealed class NodeIdentityTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pinhole-id-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task CreatedKeyFileIsOwnerOnlyAndPersists()
    {
        var path = Path.Combine(_dir, "home", "identity.key");
        using var first = await NodeIdentity.LoadOrCreateAsync(path);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", await File.ReadAllTextAsync(path), StringComparison.Ordinal);
        using var second = await NodeIdentity.LoadOrCreateAsync(path);
        Assert.Equal(first.PeerId, second.PeerId);
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!));
    }

    [Theory]
    [InlineData(UnixFileMode.GroupRead)]
    [InlineData(UnixFileMode.OtherRead)]
    [InlineData(UnixFileMode.GroupWrite)]
    public async Task KeyFileReadableByOthersIsRefused(UnixFileMode extra)
    {
        var path = Path.Combine(_dir, "identity.key");
        using (await NodeIdentity.LoadOrCreateAsync(path))
        {
        }
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | extra);
        var e = await Assert.ThrowsAsync<UnauthorizedAccessException>(() => NodeIdentity.LoadOrCreateAsync(path));
        Assert.Contains("too open", e.Message, StringComparison.Ordinal);
        Assert.Contains("chmod 600", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExistingPemKeysImport()
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var expected = Libp2pPublicKey.FromECDsa(ecdsa).PeerId;
        using var fromPkcs8 = NodeIdentity.ImportPem(ecdsa.ExportPkcs8PrivateKeyPem());
        using var fromSec1 = NodeIdentity.ImportPem(ecdsa.ExportECPrivateKeyPem());
        Assert.Equal(expected, fromPkcs8.PeerId);
        Assert.Equal(expected, fromSec1.PeerId);
        var path = Path.Combine(_dir, "imported.key");
        await fromSec1.SaveAsync(path);
        using var loaded = await NodeIdentity.LoadAsync(path);
        Assert.Equal(expected, loaded.PeerId);
        await Assert.ThrowsAsync<IOException>(() => fromSec1.SaveAsync(path));
    }

    [Fact]
    public void WrongCurveAndGarbageAreRefused()
    {
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        Assert.Contains("P-256", Assert.Throws<FormatException>(() => NodeIdentity.ImportPem(p384.ExportPkcs8PrivateKeyPem())).Message, StringComparison.Ordinal);
        Assert.Throws<FormatException>(() => NodeIdentity.ImportPem("not a key"));
        using var rsa = RSA.Create(2048);
        Assert.Throws<FormatException>(() => NodeIdentity.ImportPem(rsa.ExportPkcs8PrivateKeyPem()));
        Assert.Contains("Encrypted", Assert.Throws<FormatException>(() => NodeIdentity.ImportPem("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HomeResolutionPrefersExplicitThenEnvironment()
    {
        Assert.Equal(Path.GetFullPath(_dir), PinholeHome.Resolve(_dir));
        using var identity = await PinholeHome.LoadOrCreateIdentityAsync(_dir);
        Assert.True(File.Exists(Path.Combine(_dir, PinholeHome.IdentityFileName)));
    }

    [Theory]
    [InlineData(Libp2pKeyType.Ed25519)]
    [InlineData(Libp2pKeyType.Ecdsa)]
    public void SignaturesVerifyWithThePublicKey(Libp2pKeyType keyType)
    {
        using var identity = NodeIdentity.Generate(keyType);
        var signature = identity.Sign("data"u8);
        Assert.True(identity.PublicKey.Verify("data"u8, signature));
        Assert.True(identity.PeerId.Matches(identity.PublicKey));
    }

    [Fact]
    public async Task NewIdentitiesAreEd25519ByDefault()
    {
        using var generated = NodeIdentity.Generate();
        Assert.Equal(Libp2pKeyType.Ed25519, generated.KeyType);
        Assert.Equal(Libp2pKeyType.Ed25519, NodeIdentity.DefaultKeyType);
        using var created = await NodeIdentity.LoadOrCreateAsync(Path.Combine(_dir, "default.key"));
        Assert.Equal(Libp2pKeyType.Ed25519, created.KeyType);
        Assert.StartsWith("12D3KooW", created.PeerId.ToString(), StringComparison.Ordinal);
        using var fromHome = await PinholeHome.LoadOrCreateIdentityAsync(Path.Combine(_dir, "home"));
        Assert.Equal(Libp2pKeyType.Ed25519, fromHome.KeyType);
    }

    [Fact]
    public async Task ExistingEcdsaIdentitiesKeepLoadingWhateverTheDefault()
    {
        var path = Path.Combine(_dir, "old.key");
        using var ecdsa = NodeIdentity.Generate(Libp2pKeyType.Ecdsa);
        await ecdsa.SaveAsync(path);
        using var loaded = await NodeIdentity.LoadOrCreateAsync(path);
        Assert.Equal(Libp2pKeyType.Ecdsa, loaded.KeyType);
        Assert.Equal(ecdsa.PeerId, loaded.PeerId);
        using var asked = await NodeIdentity.LoadOrCreateAsync(path, Libp2pKeyType.Ed25519);
        Assert.Equal(ecdsa.PeerId, asked.PeerId);
        Assert.True(loaded.PublicKey.Verify("m"u8, loaded.Sign("m"u8)));
        using var certificate = Libp2pCertificate.Create(loaded);
        Assert.Equal(ecdsa.PeerId, Libp2pCertificate.Verify(certificate));
    }

    [Fact]
    public async Task Ed25519IdentitiesPersistAndSign()
    {
        var path = Path.Combine(_dir, "ed.key");
        using var created = await NodeIdentity.LoadOrCreateAsync(path, Libp2pKeyType.Ed25519);
        Assert.Equal(Libp2pKeyType.Ed25519, created.KeyType);
        Assert.StartsWith("12D3KooW", created.PeerId.ToString(), StringComparison.Ordinal);
        using var loaded = await NodeIdentity.LoadAsync(path);
        Assert.Equal(created.PeerId, loaded.PeerId);
        Assert.True(loaded.PublicKey.Verify("m"u8, created.Sign("m"u8)));
        using var certificate = Libp2pCertificate.Create(loaded);
        Assert.Equal(created.PeerId, Libp2pCertificate.Verify(certificate));
    }
}
