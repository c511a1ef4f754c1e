using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace Pinhole.Membership.Internal;

/// <summary>
/// Opens record envelopes with a process-wide memo of signatures already verified. A signature check is a pure
/// function of (domain, envelope bytes), so a record that many clients in one process receive (a node in several
/// networks, a test with a thousand simulated members) is verified once. Only successes are remembered; the memo
/// is bounded and simply starts over when full.
/// </summary>
internal static class EnvelopeVerifier
{
    private const int MaxRemembered = 1 << 17;
    private static readonly ConcurrentDictionary<Digest, byte> Verified = new();

    /// <summary>Decodes the envelope, checks its payload type and verifies it for <paramref name="domain"/>.</summary>
    public static SignedEnvelope Open(ReadOnlySpan<byte> encoded, string domain, ReadOnlySpan<byte> payloadType, string what)
    {
        SignedEnvelope envelope;
        try
        {
            envelope = SignedEnvelope.Decode(encoded);
        }
        catch (FormatException e)
        {
            throw new FormatException($"{what}: {e.Message}", e);
        }
        if (!envelope.PayloadType.Span.SequenceEqual(payloadType))
        {
            throw new FormatException($"{what}: payload type is '{Printable(envelope.PayloadType.Span)}', expected '{Printable(payloadType)}'.");
        }
        var key = KeyOf(domain, encoded);
        if (Verified.ContainsKey(key))
        {
            return envelope;
        }
        if (!envelope.Verify(domain))
        {
            throw new MembershipException(MembershipError.BadSignature, $"{what}: the signature by {envelope.Signer} does not verify for domain '{domain}'.");
        }
        if (Verified.Count >= MaxRemembered)
        {
            Verified.Clear();
        }
        Verified.TryAdd(key, 0);
        return envelope;
    }

    /// <summary>Forgets every remembered signature (benchmarks measure the cold path with it).</summary>
    public static void Clear() => Verified.Clear();

    private static Digest KeyOf(string domain, ReadOnlySpan<byte> encoded)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes(domain));
        hash.AppendData([0]);
        hash.AppendData(encoded);
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        hash.GetHashAndReset(digest);
        return Digest.Of(digest);
    }

    private static string Printable(ReadOnlySpan<byte> type)
    {
        foreach (var b in type)
        {
            if (b is < 0x20 or > 0x7e)
            {
                return Convert.ToHexString(type);
            }
        }
        return Encoding.ASCII.GetString(type);
    }
}
