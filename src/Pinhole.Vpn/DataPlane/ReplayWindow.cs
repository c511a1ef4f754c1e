namespace Pinhole.Vpn.DataPlane;

/// <summary>
/// Sliding anti-replay window of RFC 6479 ("IPsec Anti-Replay Algorithm without Bit Shifting"): a ring of
/// 64-bit blocks; moving the window clears whole blocks instead of shifting bits. Accepts each counter at
/// most once, and any counter not older than <see cref="WindowSize"/> below the highest seen, so records
/// reordered by the path or by parallel senders survive. Single-threaded (the receive loop).
/// </summary>
internal sealed class ReplayWindow
{
    private const int BlockBits = 64;
    private const int RingBlocks = 128; // power of two
    /// <summary>Counters accepted behind the highest one seen (one block is the head, kept for moving).</summary>
    internal const ulong WindowSize = (RingBlocks - 1) * BlockBits;

    private readonly ulong[] _ring = new ulong[RingBlocks];
    private ulong _last;
    private bool _any;

    /// <summary>The highest counter accepted so far.</summary>
    internal ulong Highest => _last;

    /// <summary>True if <paramref name="counter"/> could be accepted (check before spending a decryption on it).</summary>
    internal bool MayAccept(ulong counter, ulong limit)
    {
        if (counter >= limit)
        {
            return false;
        }
        if (!_any || counter > _last)
        {
            return true;
        }
        if (_last - counter >= WindowSize)
        {
            return false;
        }
        ulong block = counter / BlockBits;
        return (_ring[block % RingBlocks] & (1UL << (int)(counter % BlockBits))) == 0;
    }

    /// <summary>Marks <paramref name="counter"/> as seen after it authenticated; false if it was a replay or too old.</summary>
    internal bool Accept(ulong counter, ulong limit)
    {
        if (counter >= limit)
        {
            return false;
        }
        ulong block = counter / BlockBits;
        if (!_any || counter > _last)
        {
            ulong current = _any ? _last / BlockBits : 0;
            ulong diff = _any ? block - current : RingBlocks;
            if (diff > RingBlocks)
            {
                diff = RingBlocks;
            }
            for (ulong i = 1; i <= diff; i++)
            {
                _ring[(current + i) % RingBlocks] = 0;
            }
            if (!_any)
            {
                Array.Clear(_ring);
            }
            _any = true;
            _last = counter;
        }
        else if (_last - counter >= WindowSize)
        {
            return false;
        }
        ref ulong bits = ref _ring[block % RingBlocks];
        ulong mask = 1UL << (int)(counter % BlockBits);
        if ((bits & mask) != 0)
        {
            return false;
        }
        bits |= mask;
        return true;
    }
}
