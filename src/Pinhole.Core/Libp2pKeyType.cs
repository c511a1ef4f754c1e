namespace Pinhole;

/// <summary>libp2p key types (the <c>KeyType</c> enum of libp2p/specs peer-ids.md).</summary>
public enum Libp2pKeyType
{
    /// <summary>RSA; Data is a DER SubjectPublicKeyInfo.</summary>
    Rsa = 0,
    /// <summary>Ed25519; Data is the 32-byte public key.</summary>
    Ed25519 = 1,
    /// <summary>secp256k1; Data is the 33-byte compressed point.</summary>
    Secp256k1 = 2,
    /// <summary>ECDSA (Pinhole node keys of this type are P-256); Data is a DER SubjectPublicKeyInfo.</summary>
    Ecdsa = 3,
}
