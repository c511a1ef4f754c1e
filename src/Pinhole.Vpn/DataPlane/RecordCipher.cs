using System.Buffers.Binary;
using System.Security.Cryptography;
using Pinhole.Vpn.Native;

namespace Pinhole.Vpn.DataPlane;

/// <summary>
/// AES-256-GCM for one direction of one keypair, over a record laid out as OpenSSL's TLS mode wants it:
/// <c>explicit nonce (8) | ciphertext | tag (16)</c>, processed in place. The nonce is the 4-byte salt
/// followed by the 8-byte big-endian record counter, which is the explicit part on the wire; the additional
/// data is <c>counter (8) | type (1) | 0 0 | length (2)</c>. Not thread-safe: one instance per thread.
/// </summary>
internal sealed unsafe class RecordCipher : IDisposable
{
    internal const int KeyLength = 32;
    internal const int SaltLength = 4;
    internal const int Overhead = LibCrypto.ExplicitIvLength + LibCrypto.TagLength;

    private static long _live;
    private readonly bool _encrypt;
    private readonly byte[] _salt = new byte[SaltLength];
    private nint _ctx;

    internal RecordCipher(ReadOnlySpan<byte> key, ReadOnlySpan<byte> salt, bool encrypt)
    {
        if (key.Length != KeyLength || salt.Length != SaltLength)
        {
            throw new ArgumentException("A record key is 32 bytes and its salt 4.");
        }
        _encrypt = encrypt;
        salt.CopyTo(_salt);
        _ctx = LibCrypto.EVP_CIPHER_CTX_new();
        if (_ctx == 0)
        {
            throw new CryptographicException("EVP_CIPHER_CTX_new failed.");
        }
        Interlocked.Increment(ref _live);
        fixed (byte* k = key)
        fixed (byte* s = _salt)
        {
            if (LibCrypto.EVP_CipherInit_ex(_ctx, LibCrypto.EVP_aes_256_gcm(), 0, k, null, encrypt ? 1 : 0) != 1
                || (!encrypt && LibCrypto.EVP_CIPHER_CTX_ctrl(_ctx, LibCrypto.CtrlAeadSetIvFixed, SaltLength, s) != 1))
            {
                LibCrypto.ERR_clear_error();
                Dispose();
                throw new CryptographicException("AES-256-GCM could not be set up.");
            }
        }
    }

    /// <summary>Contexts alive in this process (a leak check for tests).</summary>
    internal static long Live => Interlocked.Read(ref _live);

    /// <summary>
    /// Encrypts <paramref name="record"/> in place: 8 bytes for the nonce, the plaintext, 16 bytes for the
    /// tag (the plaintext is <paramref name="record"/>.Length − 24 bytes). Writes the counter as the nonce.
    /// </summary>
    internal void Seal(Span<byte> record, ulong counter, byte type)
    {
        if (!_encrypt || record.Length < Overhead)
        {
            throw new InvalidOperationException("Not an encrypting cipher, or no room for nonce and tag.");
        }
        ObjectDisposedException.ThrowIf(_ctx == 0, this);
        byte* iv = stackalloc byte[12];
        byte* aad = stackalloc byte[LibCrypto.TlsAadLength];
        _salt.AsSpan().CopyTo(new Span<byte>(iv, SaltLength));
        BinaryPrimitives.WriteUInt64BigEndian(new Span<byte>(iv + SaltLength, 8), counter);
        WriteAad(aad, counter, type, record.Length - LibCrypto.TagLength);
        fixed (byte* r = record)
        {
            // The full IV, counter included, per record: several threads may seal with one key, each
            // with its own context, so OpenSSL's own IV counter cannot be the one that numbers records.
            if (LibCrypto.EVP_CIPHER_CTX_ctrl(_ctx, LibCrypto.CtrlAeadSetIvFixed, -1, iv) != 1
                || LibCrypto.EVP_CIPHER_CTX_ctrl(_ctx, LibCrypto.CtrlAeadTls1Aad, LibCrypto.TlsAadLength, aad) != LibCrypto.TagLength
                || LibCrypto.EVP_Cipher(_ctx, r, r, (uint)record.Length) != record.Length)
            {
                LibCrypto.ERR_clear_error();
                throw new CryptographicException("AES-GCM encryption failed.");
            }
        }
    }

    /// <summary>
    /// Authenticates and decrypts <paramref name="record"/> (nonce | ciphertext | tag) in place; the
    /// plaintext is then at offset 8. False if it does not authenticate.
    /// </summary>
    internal bool Open(Span<byte> record, byte type)
    {
        if (_encrypt || record.Length < Overhead)
        {
            return false;
        }
        ObjectDisposedException.ThrowIf(_ctx == 0, this);
        byte* aad = stackalloc byte[LibCrypto.TlsAadLength];
        ulong counter = BinaryPrimitives.ReadUInt64BigEndian(record);
        WriteAad(aad, counter, type, record.Length);
        fixed (byte* r = record)
        {
            if (LibCrypto.EVP_CIPHER_CTX_ctrl(_ctx, LibCrypto.CtrlAeadTls1Aad, LibCrypto.TlsAadLength, aad) != LibCrypto.TagLength
                || LibCrypto.EVP_Cipher(_ctx, r, r, (uint)record.Length) < 0)
            {
                LibCrypto.ERR_clear_error();
                return false;
            }
        }
        return true;
    }

    // TLS-mode AAD: seq (our counter) | type | version (0) | length; OpenSSL adjusts the length itself.
    private static void WriteAad(byte* aad, ulong counter, byte type, int length)
    {
        var span = new Span<byte>(aad, LibCrypto.TlsAadLength);
        BinaryPrimitives.WriteUInt64BigEndian(span, counter);
        span[8] = type;
        span[9] = 0;
        span[10] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(span[11..], (ushort)length);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        nint ctx = Interlocked.Exchange(ref _ctx, 0);
        if (ctx != 0)
        {
            // EVP_CIPHER_CTX_free cleanses the key schedule.
            LibCrypto.EVP_CIPHER_CTX_free(ctx);
            Interlocked.Decrement(ref _live);
        }
    }
}
