using System.Net;
using Microsoft.Extensions.Time.Testing;
using Pinhole.Connections;

namespace Pinhole.Core.Tests.Connections;

/// <summary>
/// The handshake budget on its own. The clock is frozen throughout: every ticket has the same admission time, as
/// on a loaded machine where many sockets are accepted within one clock tick, so no rule may depend on time moving.
/// </summary>
public sealed class HandshakeAdmissionTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly FakeTimeProvider _clock = new();

    private static AddressKey Key(string address) => AddressKey.From(IPAddress.Parse(address));

    private HandshakeAdmission.Ticket Admit(HandshakeAdmission admission, string address, Func<bool>? hasData = null)
    {
        Assert.Equal(AdmissionRefusal.None, admission.TryAdmit(Key(address), out var ticket, hasData));
        return ticket!;
    }

    [Fact]
    public void An_address_gets_at_most_its_share_and_a_finished_handshake_gives_its_slot_back()
    {
        var admission = new HandshakeAdmission(maxHandshakes: 8, maxPerAddress: 2, _clock);
        var first = Admit(admission, "10.0.0.1");
        Admit(admission, "10.0.0.1");
        Assert.Equal(AdmissionRefusal.AddressLimit, admission.TryAdmit(Key("10.0.0.1"), out var none));
        Assert.Null(none);
        first.Dispose();
        first.Dispose(); // twice is harmless: the slot is given back once
        Assert.Equal(1, admission.CountOf(Key("10.0.0.1")));
        Admit(admission, "10.0.0.1");
        Assert.Equal(2, admission.Count);
    }

    [Fact]
    public void A_full_budget_takes_the_slot_of_the_heaviest_network_not_of_a_lighter_one()
    {
        var admission = new HandshakeAdmission(maxHandshakes: 4, maxPerAddress: 4, _clock);
        var lone = Admit(admission, "192.168.7.7");
        var heavy = new[] { Admit(admission, "10.0.0.1"), Admit(admission, "10.0.0.1"), Admit(admission, "10.0.0.2") };

        // A newcomer from a third network: the 10.0/16 group holds three slots, so one of its goes.
        Admit(admission, "172.16.0.1");
        Assert.False(lone.WasEvicted);
        Assert.Single(heavy, t => t.WasEvicted);
        Assert.Equal(4, admission.Count);
    }

    [Fact]
    public void A_newcomer_as_heavy_as_the_heaviest_source_is_refused()
    {
        var admission = new HandshakeAdmission(maxHandshakes: 2, maxPerAddress: 4, _clock);
        var a = Admit(admission, "10.0.0.1");
        var b = Admit(admission, "172.16.0.1");
        Assert.Equal(AdmissionRefusal.BudgetFull, admission.TryAdmit(Key("10.0.0.1"), out _));
        Assert.False(a.WasEvicted);
        Assert.False(b.WasEvicted);
    }

    [Fact]
    public void The_least_advanced_slot_goes_first()
    {
        var admission = new HandshakeAdmission(maxHandshakes: 3, maxPerAddress: 3, _clock);
        var securing = Admit(admission, "10.0.0.1");
        var silent = Admit(admission, "10.0.0.1");
        var negotiating = Admit(admission, "10.0.0.1");
        securing.Advance(HandshakeStage.Securing);
        negotiating.Advance(HandshakeStage.Negotiating);

        Admit(admission, "172.16.0.1");
        Assert.True(silent.WasEvicted);
        Assert.False(securing.WasEvicted);
        Assert.False(negotiating.WasEvicted);
    }

    [Fact]
    public void A_slot_whose_input_waits_unread_is_skipped()
    {
        var admission = new HandshakeAdmission(maxHandshakes: 2, maxPerAddress: 2, _clock);
        var unread = Admit(admission, "10.0.0.1", () => true);
        var quiet = Admit(admission, "10.0.0.1", () => false);

        Admit(admission, "172.16.0.1");
        Assert.False(unread.WasEvicted);
        Assert.True(quiet.WasEvicted);
        Assert.Equal(HandshakeStage.Negotiating, unread.Stage); // its input counts as progress
    }

    [Fact]
    public async Task When_every_candidate_has_unread_input_the_least_advanced_goes_and_admission_returns()
    {
        // Each candidate already past the stage a skip would move it to, on a frozen clock: skipping changes
        // nothing about the order, so a pick that retried until it found a quiet slot would never return.
        var admission = new HandshakeAdmission(maxHandshakes: 3, maxPerAddress: 3, _clock);
        var tickets = new[] { Admit(admission, "10.0.0.1", () => true), Admit(admission, "10.0.0.1", () => true), Admit(admission, "10.0.0.1", () => true) };
        tickets[0].Advance(HandshakeStage.Securing);
        tickets[1].Advance(HandshakeStage.Negotiating);
        tickets[2].Advance(HandshakeStage.Securing);

        var refusal = await Task.Run(() => admission.TryAdmit(Key("172.16.0.1"), out _)).WaitAsync(Bound);
        Assert.Equal(AdmissionRefusal.None, refusal);
        Assert.True(tickets[1].WasEvicted);
        Assert.False(tickets[0].WasEvicted);
        Assert.False(tickets[2].WasEvicted);
    }

    [Fact]
    public void A_socket_that_fails_its_data_check_counts_as_quiet()
    {
        var admission = new HandshakeAdmission(maxHandshakes: 1, maxPerAddress: 1, _clock);
        var gone = Admit(admission, "10.0.0.1", () => throw new ObjectDisposedException("socket"));
        Admit(admission, "172.16.0.1");
        Assert.True(gone.WasEvicted);
    }

    [Fact]
    public void Evicting_for_descriptors_takes_the_least_advanced_of_all()
    {
        var admission = new HandshakeAdmission(maxHandshakes: 8, maxPerAddress: 8, _clock);
        var far = Admit(admission, "10.0.0.1");
        far.Advance(HandshakeStage.Muxing);
        var near = Admit(admission, "172.16.0.1");
        Assert.True(admission.EvictLeastAdvanced());
        Assert.True(near.WasEvicted);
        Assert.False(far.WasEvicted);
        Assert.True(admission.EvictLeastAdvanced());
        Assert.False(admission.EvictLeastAdvanced());
        Assert.Equal(0, admission.Count);
    }
}
