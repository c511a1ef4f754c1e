using Pinhole.Vpn.DataPlane;

namespace Pinhole.Vpn.Tests;

/// <summary>The anti-replay window (RFC 6479), with the cases of wireguard-go's replay_test.go.</summary>
public class ReplayWindowTests
{
    private const ulong Limit = ulong.MaxValue - (1UL << 13);

    [Fact]
    public void EachCounterOnce_InAnyOrderWithinTheWindow()
    {
        var w = new ReplayWindow();
        Assert.True(w.Accept(0, Limit));
        Assert.False(w.Accept(0, Limit));
        Assert.True(w.Accept(1, Limit));
        Assert.False(w.Accept(1, Limit));
        Assert.True(w.Accept(9, Limit));
        Assert.True(w.Accept(8, Limit));
        Assert.True(w.Accept(7, Limit));
        Assert.False(w.Accept(7, Limit));
        Assert.True(w.Accept(ReplayWindow.WindowSize + 9, Limit));
        Assert.False(w.Accept(9, Limit)); // now too old
        Assert.True(w.Accept(10, Limit)); // just inside (window size behind the highest)
        Assert.False(w.Accept(10, Limit));
    }

    [Fact]
    public void MayAccept_AgreesWithAccept()
    {
        var w = new ReplayWindow();
        var random = new Random(5);
        var seen = new HashSet<ulong>();
        ulong highest = 0;
        bool any = false;
        for (int i = 0; i < 200000; i++)
        {
            ulong c = (ulong)random.NextInt64(0, 40000);
            if (i % 3 == 0)
            {
                c = highest + (ulong)random.Next(0, 300);
            }
            bool expected = !seen.Contains(c) && (!any || c > highest || highest - c < ReplayWindow.WindowSize);
            Assert.Equal(expected, w.MayAccept(c, Limit));
            Assert.Equal(expected, w.Accept(c, Limit));
            if (expected)
            {
                seen.Add(c);
                if (!any || c > highest)
                {
                    highest = c;
                }
                any = true;
            }
        }
    }

    [Fact]
    public void LargeJumps_ClearTheWholeRing()
    {
        var w = new ReplayWindow();
        for (ulong i = 0; i < 10000; i++)
        {
            Assert.True(w.Accept(i, Limit));
        }
        ulong far = 1_000_000;
        Assert.True(w.Accept(far, Limit));
        for (ulong i = far - ReplayWindow.WindowSize + 1; i < far; i++)
        {
            Assert.True(w.Accept(i, Limit), $"counter {i}");
        }
        Assert.False(w.Accept(far - ReplayWindow.WindowSize, Limit));
    }

    [Fact]
    public void CountersAtTheLimit_AreRefused()
    {
        var w = new ReplayWindow();
        Assert.False(w.MayAccept(Limit, Limit));
        Assert.False(w.Accept(Limit, Limit));
        Assert.True(w.Accept(Limit - 1, Limit));
    }
}
