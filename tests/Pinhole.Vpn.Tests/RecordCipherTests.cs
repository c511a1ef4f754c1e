using System.Buffers.Binary;
using System.Security.Cryptography;
using Pinhole.Vpn.DataPlane;

namespace Pinhole.Vpn.Tests;

public class RecordCipherTests
{
    private static (RecordCipher Seal, RecordCipher Open) Pair()
    {
        byte[] key = RandomNumberGenerator.GetBytes(32);
        byte[] salt = RandomNumberGenerator.GetBytes(4);
        return (new RecordCipher(key, salt, encrypt: true), new RecordCipher(key, salt, encrypt: false));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(1400)]
    [InlineData(9000)]
    public void SealedRecords_OpenInPlace(int length)
    {
        var (seal, open) = Pair();
        using (seal)
        using (open)
        {
            byte[] plaintext = RandomNumberGenerator.GetBytes(length);
            byte[] record = new byte[8 + length + 16];
            plaintext.CopyTo(record, 8);
            seal.Seal(record, 77, 3);
            Assert.Equal(77ul, BinaryPrimitives.ReadUInt64BigEndian(record));
            if (length > 16)
            {
                Assert.False(record.AsSpan(8, length).SequenceEqual(plaintext));
            }
            Assert.True(open.Open(record, 3));
            Assert.Equal(plaintext, record.AsSpan(8, length).ToArray());
        }
    }

    [Fact]
    public void MatchesDotNetAesGcm()
    {
        // The same key, nonce (salt | counter) and additional data give .NET's AES-GCM output.
        byte[] key = RandomNumberGenerator.GetBytes(32);
        byte[] salt = RandomNumberGenerator.GetBytes(4);
        byte[] plaintext = RandomNumberGenerator.GetBytes(333);
        using var seal = new RecordCipher(key, salt, encrypt: true);
        byte[] record = new byte[8 + 333 + 16];
        plaintext.CopyTo(record, 8);
        seal.Seal(record, 0x0102030405060708, 3);
        byte[] nonce = [.. salt, 1, 2, 3, 4, 5, 6, 7, 8];
        byte[] aad = [1, 2, 3, 4, 5, 6, 7, 8, 3, 0, 0, 333 >> 8, 333 & 0xFF];
        byte[] ciphertext = new byte[333];
        byte[] tag = new byte[16];
        using var gcm = new AesGcm(key, 16);
        gcm.Encrypt(nonce, plaintext, ciphertext, tag, aad);
        Assert.Equal(ciphertext, record.AsSpan(8, 333).ToArray());
        Assert.Equal(tag, record.AsSpan(8 + 333).ToArray());
    }

    [Fact]
    public void AnyChange_FailsAuthentication()
    {
        var (seal, open) = Pair();
        using (seal)
        using (open)
        {
            byte[] record = new byte[8 + 100 + 16];
            seal.Seal(record, 5, 3);
            for (int i = 0; i < record.Length; i++)
            {
                byte[] copy = record.ToArray();
                copy[i] ^= 0x01;
                Assert.False(open.Open(copy, 3), $"byte {i}");
            }
            Assert.False(open.Open(record.ToArray(), 4)); // another type
            Assert.False(open.Open(record.AsSpan(0, 20).ToArray(), 3)); // too short for a tag
            Assert.True(open.Open(record, 3));
        }
    }

    [Fact]
    public void Contexts_AreCounted_AndFreedOnce()
    {
        long before = RecordCipher.Live;
        var (seal, open) = Pair();
        Assert.True(RecordCipher.Live >= before + 2);
        seal.Dispose();
        seal.Dispose();
        open.Dispose();
        Assert.Throws<ObjectDisposedException>(() => seal.Seal(new byte[40], 0, 3));
    }
}
