namespace Pinhole.Node;

/// <summary>Which stored address to dial first: one that worked lately, then fewer failures, then the more authoritative source, then the newest.</summary>
internal static class AddressPreference
{
    public static int Compare(KnownAddress a, KnownAddress b)
    {
        var byWorking = Working(b).CompareTo(Working(a));
        if (byWorking != 0)
        {
            return byWorking;
        }
        var bySuccess = Nullable.Compare(b.LastSuccess, a.LastSuccess);
        if (bySuccess != 0)
        {
            return bySuccess;
        }
        var byFailures = a.ConsecutiveFailures.CompareTo(b.ConsecutiveFailures);
        if (byFailures != 0)
        {
            return byFailures;
        }
        var bySource = Rank(a.Source).CompareTo(Rank(b.Source));
        return bySource != 0 ? bySource : b.Added.CompareTo(a.Added);
    }

    // Worked at its last attempt.
    private static bool Working(KnownAddress a) => a.LastSuccess is { } s && (a.LastFailure is not { } f || s >= f);

    private static int Rank(AddressSource source) => source switch
    {
        AddressSource.Configured => 0,
        AddressSource.Coordinator => 1,
        AddressSource.Identify => 2,
        _ => 3,
    };
}
