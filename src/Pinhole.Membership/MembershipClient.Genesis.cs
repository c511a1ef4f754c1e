namespace Pinhole.Membership;

public sealed partial class MembershipClient
{
    /// <summary>The network's genesis record (its name, admin set and virtual address prefixes).</summary>
    public GenesisRecord Genesis => _state.Genesis;
}
