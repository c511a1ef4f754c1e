using Microsoft.Extensions.Time.Testing;
using Pinhole.Connections;

namespace Pinhole.Core.Tests.Connections;

public sealed class DescriptorReserveTests
{
    [Theory]
    [InlineData(256UL, 32L)]
    [InlineData(1024UL, 64L)]
    [InlineData(1_048_576UL, 1024L)]
    [InlineData(64UL, 32L)]
    public void The_reserve_is_a_sixteenth_of_the_limit_within_bounds(ulong soft, long reserve) =>
        Assert.Equal(reserve, DescriptorReserve.Reserve(soft));

    [Fact]
    public void Room_runs_out_at_the_reserve_and_accepts_between_counts_are_added_to_the_estimate()
    {
        var clock = new FakeTimeProvider();
        long open = 100;
        var counts = 0;
        var reserve = new DescriptorReserve(() => { counts++; return open; }, () => 256UL, clock); // threshold 224
        Assert.True(reserve.HasRoom());
        Assert.Equal(1, counts);
        // Without a recount, each accept is assumed to hold a descriptor: 100 + 123 accepts = 223 < 224.
        for (var i = 0; i < 123; i++)
        {
            Assert.True(reserve.HasRoom());
        }
        Assert.Equal(1, counts);
        // The estimate reaches the threshold; counted a moment ago (the clock has not moved): it assumes the worst.
        Assert.False(reserve.HasRoom());
        Assert.Equal(1, counts);
        // After the minimum interval it counts: the accepted sockets were mostly closed meanwhile.
        clock.Advance(TimeSpan.FromMilliseconds(10));
        open = 150;
        Assert.True(reserve.HasRoom());
        Assert.Equal(2, counts);
        // Really at the threshold: no room, until descriptors are given back.
        clock.Advance(TimeSpan.FromMilliseconds(10));
        open = 224;
        for (var i = 0; i < 73; i++) // estimate 150 + 73 = 223: no recount yet
        {
            Assert.True(reserve.HasRoom());
        }
        clock.Advance(TimeSpan.FromMilliseconds(10));
        Assert.False(reserve.HasRoom());
        clock.Advance(TimeSpan.FromMilliseconds(10));
        open = 200;
        Assert.True(reserve.HasRoom());
    }

    [Fact]
    public void It_counts_again_at_least_every_second_to_see_descriptors_others_opened()
    {
        var clock = new FakeTimeProvider();
        long open = 10;
        var reserve = new DescriptorReserve(() => open, () => 256UL, clock);
        Assert.True(reserve.HasRoom());
        open = 250; // opened by someone else, not by accepts
        Assert.True(reserve.HasRoom()); // not counted yet
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.False(reserve.HasRoom());
        Assert.Equal(250, reserve.LastCount);
    }

    [Fact]
    public void No_limit_or_no_way_to_count_turns_the_guard_off()
    {
        var clock = new FakeTimeProvider();
        var noLimit = new DescriptorReserve(() => long.MaxValue / 2, () => null, clock);
        var noCount = new DescriptorReserve(() => null, () => 256UL, clock);
        for (var i = 0; i < 1000; i++)
        {
            Assert.True(noLimit.HasRoom());
            Assert.True(noCount.HasRoom());
        }
    }

    [Fact]
    public void Failing_to_count_for_want_of_a_descriptor_means_no_room()
    {
        var reserve = new DescriptorReserve(() => throw new IOException("Too many open files"), () => 256UL, new FakeTimeProvider());
        Assert.False(reserve.HasRoom());
    }

    [Fact]
    public void This_process_can_count_its_descriptors()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        // Other tests open and close sockets meanwhile: only what this test holds is certain.
        using var a = File.OpenRead("/dev/null");
        using var b = File.OpenRead("/dev/null");
        var count = DescriptorReserve.CountOpenDescriptors();
        Assert.NotNull(count);
        Assert.True(count >= 5, $"{count} descriptors counted; stdin, stdout, stderr and two files are open");
    }
}
