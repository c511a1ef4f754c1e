namespace Pinhole.Ocapn;

/// <summary>Key type for a generated <c>tcp-tls</c> node certificate.</summary>
public enum OcapnKeyAlgorithm
{
    /// <summary>ECDSA on NIST P-256 with SHA-256: small and fast; the default.</summary>
    EcdsaP256,
    /// <summary>RSA-4096 with SHA-256 (PKCS#1 v1.5), as Goblins generates by default.</summary>
    Rsa4096,
}
