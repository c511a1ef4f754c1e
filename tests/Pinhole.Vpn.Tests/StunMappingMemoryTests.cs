using System.Net;
using Pinhole.Vpn.Hosting;

namespace Pinhole.Vpn.Tests;

/// <summary>A STUN round without an answer must not make the data plane announce only its private addresses at once.</summary>
public class StunMappingMemoryTests
{
    private static readonly IPEndPoint Mapped = IPEndPoint.Parse("198.51.100.7:40000");
    private static readonly IPEndPoint Moved = IPEndPoint.Parse("198.51.100.7:40123");

    [Fact]
    public void A_round_without_an_answer_keeps_the_last_mapping_for_three_rounds_then_drops_it()
    {
        var memory = new StunMappingMemory();
        Assert.Empty(memory.Update([]));
        Assert.Equal([Mapped], memory.Update([Mapped]));
        for (int round = 1; round <= StunMappingMemory.MaxStaleRounds; round++)
        {
            Assert.Equal([Mapped], memory.Update([]));
        }
        Assert.Empty(memory.Update([]));
        Assert.Empty(memory.Update([]));
    }

    [Fact]
    public void An_answer_replaces_the_mapping_and_restarts_the_count()
    {
        var memory = new StunMappingMemory();
        memory.Update([Mapped]);
        memory.Update([]);
        memory.Update([]);
        Assert.Equal([Moved], memory.Update([Moved]));
        for (int round = 1; round <= StunMappingMemory.MaxStaleRounds; round++)
        {
            Assert.Equal([Moved], memory.Update([]));
        }
        Assert.Empty(memory.Update([]));
    }

    [Fact]
    public void The_announced_list_is_a_copy_of_the_answers()
    {
        var memory = new StunMappingMemory();
        var answers = new List<IPEndPoint> { Mapped };
        IReadOnlyList<IPEndPoint> announced = memory.Update(answers);
        answers.Clear();
        Assert.Equal([Mapped], announced);
    }
}
