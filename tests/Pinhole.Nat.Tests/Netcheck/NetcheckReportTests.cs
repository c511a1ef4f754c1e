using System.Net;

namespace Pinhole.Nat.Tests.Netcheck;

public sealed class NetcheckReportTests
{
    [Fact]
    public void Json_uses_camel_case_and_enum_names_and_round_trips()
    {
        var report = new NetcheckReport
        {
            Udp = true,
            PublicIPv4 = "203.0.113.5:4000",
            Mapping = NatMappingBehavior.AddressAndPortDependent,
            Filtering = NatFilteringBehavior.AddressAndPortDependent,
            MappingVariesByDestination = true,
            PortMapping = new NetcheckPortMapping { NatPmp = true, ExternalAddress = "100.64.1.2" },
            DoubleNat = true,
            Servers = [new NetcheckServerResult { Server = "203.0.113.10:3478", LatencyMilliseconds = 1.5, MappedAddress = "203.0.113.5:4000" }],
        };
        string json = report.ToJson();
        Assert.Contains("\"mapping\": \"AddressAndPortDependent\"", json, StringComparison.Ordinal);
        Assert.Contains("\"publicIPv4\": \"203.0.113.5:4000\"", json, StringComparison.Ordinal);
        Assert.DoesNotContain("publicIPv6", json, StringComparison.Ordinal);
        NetcheckReport back = NetcheckReport.FromJson(json);
        Assert.Equal(NatFilteringBehavior.AddressAndPortDependent, back.Filtering);
        Assert.True(back.PortMapping!.NatPmp);
        Assert.Equal(1.5, back.Servers[0].LatencyMilliseconds);
        string text = report.ToText();
        Assert.Contains("address-and-port-dependent (hard)", text, StringComparison.Ordinal);
        Assert.Contains("Double NAT:            yes", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("10.1.2.3", true)]
    [InlineData("172.16.0.1", true)]
    [InlineData("172.32.0.1", false)]
    [InlineData("192.168.1.1", true)]
    [InlineData("100.64.0.1", true)]
    [InlineData("100.127.255.255", true)]
    [InlineData("100.128.0.1", false)]
    [InlineData("203.0.113.5", false)]
    [InlineData("fd00::1", true)]
    [InlineData("2001:db8::1", false)]
    public void Private_and_shared_ranges_are_recognised(string address, bool expected) =>
        Assert.Equal(expected, Pinhole.Nat.Netcheck.IsPrivateOrShared(IPAddress.Parse(address)));

    [Fact]
    public async Task Options_need_a_server()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Pinhole.Nat.Netcheck.RunAsync(new NetcheckOptions()));
    }
}
