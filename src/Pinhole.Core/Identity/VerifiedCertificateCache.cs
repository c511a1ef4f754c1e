using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Pinhole.Identity;

/// <summary>
/// Remembers certificates whose libp2p checks passed, keyed by SHA-256 of their DER. A peer presents the
/// same disposable certificate on every connection (one per identity per process), so repeat handshakes
/// skip the signature checks (~225 µs each). Sound because everything checked is a function of the DER
/// bytes alone, except the validity dates, which the caller still checks on every use; TLS itself proves
/// possession of the certificate key in each handshake.
/// </summary>
internal sealed class VerifiedCertificateCache(int capacity)
{
    private readonly Dictionary<UInt128Key, Libp2pPublicKey> _entries = [];
    private readonly Lock _lock = new();

    public static VerifiedCertificateCache Shared { get; } = new(1024);

    public bool TryGet(X509Certificate2 certificate, out Libp2pPublicKey? key, out UInt128Key digest)
    {
        digest = UInt128Key.Of(certificate.RawDataMemory.Span);
        lock (_lock)
        {
            return _entries.TryGetValue(digest, out key);
        }
    }

    public void Add(UInt128Key digest, Libp2pPublicKey key)
    {
        lock (_lock)
        {
            if (_entries.Count >= capacity)
            {
                // Bounded: a flood of distinct certificates costs a full check each, never memory.
                _entries.Clear();
            }
            _entries[digest] = key;
        }
    }

    /// <summary>SHA-256 of the DER, kept whole (two 128-bit halves) so no collision is practical.</summary>
    internal readonly record struct UInt128Key(UInt128 High, UInt128 Low)
    {
        public static UInt128Key Of(ReadOnlySpan<byte> der)
        {
            Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(der, hash);
            return new UInt128Key(
                System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(hash),
                System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(hash[16..]));
        }
    }
}
