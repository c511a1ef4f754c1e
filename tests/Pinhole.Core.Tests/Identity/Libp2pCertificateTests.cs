using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Time.Testing;

namespace Pinhole.Core.Tests.Identity;

public class Libp2pCertificateTests
{
    // Test vectors of libp2p/specs tls/tls.md.
    private const string Ed25519Cert = "308201ae30820156a0030201020204499602d2300a06082a8648ce3d040302302031123010060355040a13096c69627032702e696f310a300806035504051301313020170d3735303130313133303030305a180f34303936303130313133303030305a302031123010060355040a13096c69627032702e696f310a300806035504051301313059301306072a8648ce3d020106082a8648ce3d030107034200040c901d423c831ca85e27c73c263ba132721bb9d7a84c4f0380b2a6756fd601331c8870234dec878504c174144fa4b14b66a651691606d8173e55bd37e381569ea37c307a3078060a2b0601040183a25a0101046a3068042408011220a77f1d92fedb59dddaea5a1c4abd1ac2fbde7d7b879ed364501809923d7c11b90440d90d2769db992d5e6195dbb08e706b6651e024fda6cfb8846694a435519941cac215a8207792e42849cccc6cd8136c6e4bde92a58c5e08cfd4206eb5fe0bf909300a06082a8648ce3d0403020346003043021f50f6b6c52711a881778718238f650c9fb48943ae6ee6d28427dc6071ae55e702203625f116a7a454db9c56986c82a25682f7248ea1cb764d322ea983ed36a31b77";
    private const string EcdsaCert = "308201f63082019da0030201020204499602d2300a06082a8648ce3d040302302031123010060355040a13096c69627032702e696f310a300806035504051301313020170d3735303130313133303030305a180f34303936303130313133303030305a302031123010060355040a13096c69627032702e696f310a300806035504051301313059301306072a8648ce3d020106082a8648ce3d030107034200040c901d423c831ca85e27c73c263ba132721bb9d7a84c4f0380b2a6756fd601331c8870234dec878504c174144fa4b14b66a651691606d8173e55bd37e381569ea381c23081bf3081bc060a2b0601040183a25a01010481ad3081aa045f0803125b3059301306072a8648ce3d020106082a8648ce3d03010703420004bf30511f909414ebdd3242178fd290f093a551cf75c973155de0bb5a96fedf6cb5d52da7563e794b512f66e60c7f55ba8a3acf3dd72a801980d205e8a1ad29f2044730450220064ea8124774caf8f50e57f436aa62350ce652418c019df5d98a3ac666c9386a022100aa59d704a931b5f72fb9222cb6cc51f954d04a4e2e5450f8805fe8918f71eaae300a06082a8648ce3d04030203470030440220799395b0b6c1e940a7e4484705f610ab51ed376f19ff9d7c16757cfbf61b8d4302206205c03fbb0f95205c779be86581d3e31c01871ad5d1f3435bcf375cb0e5088a";
    private const string Secp256k1Cert = "308201ba3082015fa0030201020204499602d2300a06082a8648ce3d040302302031123010060355040a13096c69627032702e696f310a300806035504051301313020170d3735303130313133303030305a180f34303936303130313133303030305a302031123010060355040a13096c69627032702e696f310a300806035504051301313059301306072a8648ce3d020106082a8648ce3d030107034200040c901d423c831ca85e27c73c263ba132721bb9d7a84c4f0380b2a6756fd601331c8870234dec878504c174144fa4b14b66a651691606d8173e55bd37e381569ea38184308181307f060a2b0601040183a25a01010471306f0425080212210206dc6968726765b820f050263ececf7f71e4955892776c0970542efd689d2382044630440220145e15a991961f0d08cd15425bb95ec93f6ffa03c5a385eedc34ecf464c7a8ab022026b3109b8a3f40ef833169777eb2aa337cfb6282f188de0666d1bcec2a4690dd300a06082a8648ce3d0403020349003046022100e1a217eeef9ec9204b3f774a08b70849646b6a1e6b8b27f93dc00ed58545d9fe022100b00dafa549d0f03547878338c7b15e7502888f6d45db387e5ae6b5d46899cef0";
    private const string InvalidCert = "308201f73082019da0030201020204499602d2300a06082a8648ce3d040302302031123010060355040a13096c69627032702e696f310a300806035504051301313020170d3735303130313133303030305a180f34303936303130313133303030305a302031123010060355040a13096c69627032702e696f310a300806035504051301313059301306072a8648ce3d020106082a8648ce3d030107034200040c901d423c831ca85e27c73c263ba132721bb9d7a84c4f0380b2a6756fd601331c8870234dec878504c174144fa4b14b66a651691606d8173e55bd37e381569ea381c23081bf3081bc060a2b0601040183a25a01010481ad3081aa045f0803125b3059301306072a8648ce3d020106082a8648ce3d03010703420004bf30511f909414ebdd3242178fd290f093a551cf75c973155de0bb5a96fedf6cb5d52da7563e794b512f66e60c7f55ba8a3acf3dd72a801980d205e8a1ad29f204473045022100bb6e03577b7cc7a3cd1558df0da2b117dfdcc0399bc2504ebe7de6f65cade72802206de96e2a5be9b6202adba24ee0362e490641ac45c240db71fe955f2c5cf8df6e300a06082a8648ce3d0403020348003045022100e847f267f43717358f850355bdcabbefb2cfbf8a3c043b203a14788a092fe8db022027c1d04a2d41fd6b57a7e8b3989e470325de4406e52e084e34a3fd56eef0d0df";

    private static X509Certificate2 Load(string hex) => X509CertificateLoader.LoadCertificate(Convert.FromHexString(hex));

    [Theory]
    [InlineData(Ed25519Cert, "12D3KooWM6CgA9iBFZmcYAHA6A2qvbAxqfkmrYiRQuz3XEsk4Ksv")]
    [InlineData(EcdsaCert, "QmfXbAwNjJLXfesgztEHe8HwgVDCMMpZ9Eax1HYq6hn9uE")]
    [InlineData(Secp256k1Cert, "16Uiu2HAkutTMoTzDw1tCvSRtu6YoixJwS46S1ZFxW8hSx9fWHiPs")]
    public void SpecVectorsVerifyToTheirPeerIds(string hex, string peerId)
    {
        using var certificate = Load(hex);
        Assert.Equal(PeerId.Parse(peerId), Libp2pCertificate.Verify(certificate));
    }

    [Fact]
    public void SpecInvalidVectorIsRejectedForItsHostSignature()
    {
        using var certificate = Load(InvalidCert);
        var e = Assert.Throws<PeerCertificateException>(() => Libp2pCertificate.Verify(certificate));
        Assert.Equal(CertificateError.BadHostKeySignature, e.Reason);
        Assert.Equal(PeerError.InvalidCertificate, e.Error);
    }

    [Theory]
    [InlineData(Libp2pKeyType.Ed25519)]
    [InlineData(Libp2pKeyType.Ecdsa)]
    public void OwnCertificatesRoundTripWithTheExtensionFirst(Libp2pKeyType keyType)
    {
        using var identity = NodeIdentity.Generate(keyType);
        using var certificate = Libp2pCertificate.Create(identity);
        Assert.True(certificate.HasPrivateKey);
        Assert.Equal(Libp2pCertificate.ExtensionOid, certificate.Extensions[0].Oid!.Value);
        Assert.Equal(identity.PeerId, Libp2pCertificate.Verify(certificate));
        // Each certificate has its own key: the certificate is disposable, the identity is not.
        using var second = Libp2pCertificate.Create(identity);
        Assert.NotEqual(certificate.GetPublicKey(), second.GetPublicKey());
        Assert.Equal(identity.PeerId, Libp2pCertificate.Verify(second));
    }

    [Fact]
    public void ValidityDatesAreChecked()
    {
        var start = new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var clock = new FakeTimeProvider(start);
        using var identity = NodeIdentity.Generate();
        using var certificate = Libp2pCertificate.Create(identity, clock);
        Assert.Equal(identity.PeerId, Libp2pCertificate.Verify(certificate, clock));
        var early = new FakeTimeProvider(start - TimeSpan.FromDays(1));
        Assert.Equal(CertificateError.NotYetValid, Assert.Throws<PeerCertificateException>(() => Libp2pCertificate.Verify(certificate, early)).Reason);
        clock.Advance(Libp2pCertificate.Validity + TimeSpan.FromMinutes(1));
        Assert.Equal(CertificateError.Expired, Assert.Throws<PeerCertificateException>(() => Libp2pCertificate.Verify(certificate, clock)).Reason);
    }

    [Fact]
    public void MissingExtensionIsRejected()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=plain", key, HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(1));
        Assert.Equal(CertificateError.MissingExtension, Assert.Throws<PeerCertificateException>(() => Libp2pCertificate.Verify(certificate)).Reason);
    }

    [Fact]
    public void CriticalExtensionIsAcceptedButUnknownCriticalIsNot()
    {
        using var identity = NodeIdentity.Generate();
        using (var critical = Make(identity, criticalLibp2p: true))
        {
            Assert.Equal(identity.PeerId, Libp2pCertificate.Verify(critical));
        }
        using var unknown = Make(identity, extra: new X509Extension("1.2.3.4.5", [0x05, 0x00], critical: true));
        Assert.Equal(CertificateError.UnknownCriticalExtension, Assert.Throws<PeerCertificateException>(() => Libp2pCertificate.Verify(unknown)).Reason);
    }

    [Fact]
    public void MalformedExtensionIsRejected()
    {
        using var identity = NodeIdentity.Generate();
        using var certificate = Make(identity, signedKeyOverride: [0x30, 0x03, 0x04, 0x01, 0x00]);
        Assert.Equal(CertificateError.MalformedExtension, Assert.Throws<PeerCertificateException>(() => Libp2pCertificate.Verify(certificate)).Reason);
    }

    [Theory]
    [InlineData(Libp2pKeyType.Ed25519)]
    [InlineData(Libp2pKeyType.Ecdsa)]
    public void HostSignatureOverAnotherKeyIsRejected(Libp2pKeyType keyType)
    {
        using var identity = NodeIdentity.Generate(keyType);
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        // A SignedKey made for a different certificate key, replayed into this certificate.
        using var certificate = Make(identity, signedKeyOverride: Libp2pCertificate.EncodeSignedKey(identity, otherKey.ExportSubjectPublicKeyInfo()));
        Assert.Equal(CertificateError.BadHostKeySignature, Assert.Throws<PeerCertificateException>(() => Libp2pCertificate.Verify(certificate)).Reason);
    }

    [Theory]
    [InlineData(Libp2pKeyType.Ed25519)]
    [InlineData(Libp2pKeyType.Ecdsa)]
    public void TamperedCertificateFailsItsSelfSignature(Libp2pKeyType keyType)
    {
        using var identity = NodeIdentity.Generate(keyType);
        using var certificate = Libp2pCertificate.Create(identity);
        var der = certificate.RawData;
        // Flip a bit inside the subject name (part of tbsCertificate, not of any structure length).
        var index = der.AsSpan().IndexOf("pinhole"u8);
        der[index] ^= 0x01;
        using var tampered = X509CertificateLoader.LoadCertificate(der);
        Assert.Equal(CertificateError.BadSelfSignature, Assert.Throws<PeerCertificateException>(() => Libp2pCertificate.Verify(tampered)).Reason);
    }

    private static X509Certificate2 Make(NodeIdentity identity, bool criticalLibp2p = false, X509Extension? extra = null, byte[]? signedKeyOverride = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=test", key, HashAlgorithmName.SHA256);
        var signedKey = signedKeyOverride ?? Libp2pCertificate.EncodeSignedKey(identity, key.ExportSubjectPublicKeyInfo());
        request.CertificateExtensions.Add(new X509Extension(Libp2pCertificate.ExtensionOid, signedKey, criticalLibp2p));
        if (extra is not null)
        {
            request.CertificateExtensions.Add(extra);
        }
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(1));
    }

    [Fact]
    public void RepeatedVerificationStillChecksDatesAndOnlyHitsForIdenticalBytes()
    {
        var start = new DateTimeOffset(2031, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var clock = new FakeTimeProvider(start);
        using var identity = NodeIdentity.Generate();
        using var certificate = Libp2pCertificate.Create(identity, clock);
        Assert.Equal(identity.PeerId, Libp2pCertificate.Verify(certificate, clock));
        Assert.Equal(identity.PeerId, Libp2pCertificate.Verify(certificate, clock));
        // A remembered certificate still expires.
        clock.Advance(Libp2pCertificate.Validity + TimeSpan.FromDays(1));
        Assert.Equal(CertificateError.Expired, Assert.Throws<PeerCertificateException>(() => Libp2pCertificate.Verify(certificate, clock)).Reason);
        // Different bytes are checked in full: a one-bit change fails the self-signature.
        var der = certificate.RawData;
        der[der.AsSpan().IndexOf("pinhole"u8)] ^= 0x01;
        using var tampered = X509CertificateLoader.LoadCertificate(der);
        Assert.Equal(CertificateError.BadSelfSignature, Assert.Throws<PeerCertificateException>(() => Libp2pCertificate.Verify(tampered, new FakeTimeProvider(start))).Reason);
    }
}
