using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace Pinhole.Dtls.Internal;

/// <summary>
/// Stateless cookies for HelloVerifyRequest (RFC 6347 §4.2.1): cookie = HMAC-SHA256(secret, address)
/// truncated to 16 bytes. The secret rotates every <c>lifetime</c>; the previous one is still accepted so
/// that a cookie issued just before a rotation stays valid for one more period.
/// </summary>
internal sealed class CookieSecret
{
    internal const int CookieLength = 16;
    private const int SecretLength = 32;

    private readonly TimeProvider _time;
    private readonly TimeSpan _lifetime;
    private readonly Lock _lock = new();
    private byte[] _current = RandomNumberGenerator.GetBytes(SecretLength);
    private byte[] _previous = RandomNumberGenerator.GetBytes(SecretLength);
    private long _rotatedAt;

    internal CookieSecret(TimeProvider time, TimeSpan lifetime)
    {
        _time = time;
        _lifetime = lifetime;
        _rotatedAt = time.GetTimestamp();
    }

    /// <summary>Writes the cookie for <paramref name="address"/>; returns its length.</summary>
    internal int Generate(EndPoint address, Span<byte> cookie)
    {
        Rotate();
        byte[] key;
        lock (_lock)
        {
            key = _current;
        }
        return Compute(key, address, cookie);
    }

    /// <summary>True if <paramref name="cookie"/> was issued to <paramref name="address"/> by this or the previous secret.</summary>
    internal bool Verify(EndPoint address, ReadOnlySpan<byte> cookie)
    {
        if (cookie.Length != CookieLength)
        {
            return false;
        }
        Rotate();
        byte[] current;
        byte[] previous;
        lock (_lock)
        {
            current = _current;
            previous = _previous;
        }
        Span<byte> expected = stackalloc byte[CookieLength];
        Compute(current, address, expected);
        bool ok = CryptographicOperations.FixedTimeEquals(expected, cookie);
        Compute(previous, address, expected);
        return ok | CryptographicOperations.FixedTimeEquals(expected, cookie);
    }

    private void Rotate()
    {
        lock (_lock)
        {
            if (_time.GetElapsedTime(_rotatedAt) < _lifetime)
            {
                return;
            }
            _previous = _current;
            _current = RandomNumberGenerator.GetBytes(SecretLength);
            _rotatedAt = _time.GetTimestamp();
        }
    }

    private static int Compute(byte[] key, EndPoint address, Span<byte> cookie)
    {
        Span<byte> input = stackalloc byte[64];
        int length = Serialize(address, input);
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(key, input[..length], mac);
        mac[..CookieLength].CopyTo(cookie);
        return CookieLength;
    }

    // Address bytes + port for IP endpoints; the text form for any other kind (relay addresses later).
    private static int Serialize(EndPoint address, Span<byte> output)
    {
        if (address is IPEndPoint ip)
        {
            output[0] = ip.AddressFamily == AddressFamily.InterNetwork ? (byte)4 : (byte)6;
            ip.Address.TryWriteBytes(output[1..], out int written);
            output[1 + written] = (byte)(ip.Port >> 8);
            output[2 + written] = (byte)ip.Port;
            return 3 + written;
        }
        string text = address.ToString() ?? string.Empty;
        return SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text), output);
    }
}
