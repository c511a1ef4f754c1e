using System.Security.Cryptography;
using System.Text;

namespace Pinhole.Nat;

/// <summary>
/// Keys for MESSAGE-INTEGRITY (RFC 8489 §9). Long-term: MD5(username ":" realm ":" password), or SHA-256 of
/// the same string with PASSWORD-ALGORITHM SHA-256. Short-term: the password itself. Passwords are used as
/// given (callers apply OpaqueString/SASLprep if their passwords need it; ASCII needs nothing).
/// </summary>
public static class StunCredentials
{
    /// <summary>The long-term key with the MD5 password algorithm (what TURN servers use by default).</summary>
    public static byte[] LongTermKey(string username, string realm, string password)
    {
        ArgumentNullException.ThrowIfNull(username);
        ArgumentNullException.ThrowIfNull(realm);
        ArgumentNullException.ThrowIfNull(password);
#pragma warning disable CA5351 // MD5 is what RFC 8489 §9.2.2 specifies for this key; it is not our choice.
        return MD5.HashData(Encoding.UTF8.GetBytes($"{username}:{realm}:{password}"));
#pragma warning restore CA5351
    }

    /// <summary>The long-term key with the SHA-256 password algorithm (RFC 8489 §18.5.1.2).</summary>
    public static byte[] LongTermKeySha256(string username, string realm, string password)
    {
        ArgumentNullException.ThrowIfNull(username);
        ArgumentNullException.ThrowIfNull(realm);
        ArgumentNullException.ThrowIfNull(password);
        return SHA256.HashData(Encoding.UTF8.GetBytes($"{username}:{realm}:{password}"));
    }

    /// <summary>The short-term key: the password's UTF-8 bytes.</summary>
    public static byte[] ShortTermKey(string password)
    {
        ArgumentNullException.ThrowIfNull(password);
        return Encoding.UTF8.GetBytes(password);
    }
}
