using System.Net;

namespace Pinhole.Vpn.Hosting;

/// <summary>
/// What the data plane announces after each STUN round. A round in which no server answers keeps the last mapping
/// for up to <see cref="MaxStaleRounds"/> rounds: one lost answer must not make the announcement fall back to
/// private addresses, which would send every peer to them until the next round. After that the mapping has not been
/// confirmed for minutes and only what is known is announced.
/// </summary>
internal sealed class StunMappingMemory
{
    internal const int MaxStaleRounds = 3;

    private List<IPEndPoint> _last = [];
    private int _stale;

    /// <summary>Takes one round's answers (distinct, in order); returns the mapping to announce.</summary>
    internal IReadOnlyList<IPEndPoint> Update(IReadOnlyList<IPEndPoint> mapped)
    {
        if (mapped.Count > 0)
        {
            (_last, _stale) = ([.. mapped], 0);
        }
        else if (_last.Count > 0 && ++_stale > MaxStaleRounds)
        {
            _last = [];
        }
        return _last;
    }
}
