using System.Security.Cryptography;

namespace Pinhole.Membership;

public sealed partial class NetworkState
{
    private byte[]? _digest;
    private List<RecordId>? _inventory;
    private long _inventoryVersion = -1;

    /// <summary>True for the kinds nodes pass to each other so that a coordinator cannot withhold them: everything but endpoints and the genesis.</summary>
    public static bool IsGossiped(RecordKind kind) => kind is RecordKind.AdminChange or RecordKind.Membership or RecordKind.Revocation or RecordKind.Redemption;

    /// <summary>The sorted ids of the gossiped records held.</summary>
    public IReadOnlyList<RecordId> GossipInventory()
    {
        Refresh();
        return _inventory!;
    }

    /// <summary>SHA-256 over the sorted gossiped ids: two nodes with equal digests hold the same trust records.</summary>
    public ReadOnlyMemory<byte> GossipDigest()
    {
        Refresh();
        return _digest!;
    }

    private void Refresh()
    {
        if (_inventoryVersion == _version && _inventory is not null)
        {
            return;
        }
        var ids = _byId.Values.Where(r => IsGossiped(r.Kind)).Select(r => r.Id).ToList();
        ids.Sort();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var id in ids)
        {
            hash.AppendData(id.Span);
        }
        _inventory = ids;
        _digest = hash.GetHashAndReset();
        _inventoryVersion = _version;
    }
}
