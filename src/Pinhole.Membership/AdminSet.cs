using Pinhole.Codecs;

namespace Pinhole.Membership;

/// <summary>
/// Who governs a network: admin keys (a <see cref="Threshold"/> of them must sign every change of this set) and
/// issuer keys (which, like each admin alone, may sign memberships, invites and revocations, but never change the
/// set). Admin keys can stay offline; an issuer key lives on an admin's machine. Neither ever lives on a coordinator.
/// </summary>
public sealed class AdminSet
{
    /// <summary>Most admin keys, and most issuer keys.</summary>
    public const int MaxKeys = 16;

    private readonly HashSet<PeerId> _admins;
    private readonly HashSet<PeerId> _issuers;

    /// <summary>Creates a set; throws <see cref="ArgumentException"/> when it breaks a rule (counts, threshold, duplicates).</summary>
    public AdminSet(IEnumerable<Libp2pPublicKey> admins, int threshold, IEnumerable<Libp2pPublicKey>? issuers = null)
    {
        ArgumentNullException.ThrowIfNull(admins);
        var adminList = admins.ToList();
        var issuerList = issuers?.ToList() ?? [];
        if (Check(adminList, threshold, issuerList) is { } error)
        {
            throw new ArgumentException(error);
        }
        Admins = adminList.AsReadOnly();
        Issuers = issuerList.AsReadOnly();
        Threshold = threshold;
        _admins = [.. adminList.Select(k => k.PeerId)];
        _issuers = [.. issuerList.Select(k => k.PeerId)];
    }

    /// <summary>The admin keys.</summary>
    public IReadOnlyList<Libp2pPublicKey> Admins { get; }

    /// <summary>How many distinct admins must sign a change of this set.</summary>
    public int Threshold { get; }

    /// <summary>The issuer keys.</summary>
    public IReadOnlyList<Libp2pPublicKey> Issuers { get; }

    /// <summary>True if <paramref name="peer"/> is an admin.</summary>
    public bool IsAdmin(PeerId peer) => _admins.Contains(peer);

    /// <summary>True if <paramref name="peer"/> may sign memberships, invites and revocations (an admin or an issuer).</summary>
    public bool MayIssue(PeerId peer) => _admins.Contains(peer) || _issuers.Contains(peer);

    /// <summary>How many distinct admins of this set signed the envelopes.</summary>
    public int CountAdminSignatures(IEnumerable<SignedEnvelope> envelopes) =>
        envelopes.Select(e => e.Signer).Distinct().Count(_admins.Contains);

    /// <inheritdoc/>
    public override string ToString() => $"{Threshold} of {Admins.Count} admins, {Issuers.Count} issuers";

    internal void Write(ProtobufWriter writer, int adminField, int thresholdField, int issuerField)
    {
        foreach (var key in Admins)
        {
            writer.WriteBytes(adminField, key.Encoded.Span);
        }
        writer.WriteVarint(thresholdField, (ulong)Threshold);
        foreach (var key in Issuers)
        {
            writer.WriteBytes(issuerField, key.Encoded.Span);
        }
    }

    internal static AdminSet Read(List<Libp2pPublicKey> admins, ulong threshold, List<Libp2pPublicKey> issuers, string what)
    {
        var error = threshold > MaxKeys ? $"threshold {threshold} is above {MaxKeys}" : Check(admins, (int)threshold, issuers);
        if (error is not null)
        {
            throw new FormatException($"{what}: {error}.");
        }
        return new AdminSet(admins, (int)threshold, issuers);
    }

    internal static void AddKey(List<Libp2pPublicKey> keys, ReadOnlySpan<byte> encoded, string what, string field)
    {
        if (keys.Count == MaxKeys)
        {
            throw new FormatException($"{what}: more than {MaxKeys} {field}s.");
        }
        keys.Add(Internal.RecordFormat.ReadKey(encoded, what, field));
    }

    private static string? Check(List<Libp2pPublicKey> admins, int threshold, List<Libp2pPublicKey> issuers)
    {
        if (admins.Count is 0 or > MaxKeys)
        {
            return $"an admin set has 1 to {MaxKeys} admin keys, not {admins.Count}";
        }
        if (issuers.Count > MaxKeys)
        {
            return $"an admin set has at most {MaxKeys} issuer keys, not {issuers.Count}";
        }
        if (threshold < 1 || threshold > admins.Count)
        {
            return $"the threshold must be 1 to {admins.Count} (the number of admins), not {threshold}";
        }
        var all = admins.Concat(issuers).Select(k => k.PeerId).ToList();
        if (all.Distinct().Count() != all.Count)
        {
            return "a key is listed twice (admin keys and issuer keys are distinct)";
        }
        return null;
    }
}
