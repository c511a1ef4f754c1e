namespace Pinhole.Node;

/// <summary>
/// A network's files in the node's home (its cache, its coordinator list) could not be written or deleted: a full or
/// read-only disk, or files owned by another user. <see cref="InviteRedeemed"/> says whether a join spent its invite
/// before the failure (then the invite cannot be used again; the membership exists at the coordinator).
/// </summary>
public sealed class NetworkStorageException : IOException
{
    /// <summary>A storage failure at <paramref name="path"/>.</summary>
    public NetworkStorageException(string message, string path, bool inviteRedeemed = false, Exception? innerException = null)
        : base(message, innerException)
    {
        Path = path;
        InviteRedeemed = inviteRedeemed;
    }

    /// <summary>The file that could not be written or deleted.</summary>
    public string Path { get; }

    /// <summary>True if a join redeemed the invite for this node's key before the failure.</summary>
    public bool InviteRedeemed { get; }
}
