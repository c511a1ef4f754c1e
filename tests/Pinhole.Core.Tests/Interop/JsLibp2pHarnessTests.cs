namespace Pinhole.Core.Tests.Interop;

/// <summary>Proves the js-libp2p harness itself: two js peers talk to each other through it.</summary>
[Trait("Category", "Interop")]
public sealed class JsLibp2pHarnessTests
{
    [JsLibp2pFact]
    public async Task JsDialsJs_PingsAndIdentifiesOverTlsAndYamux()
    {
        await using var listener = await JsLibp2pPeer.ListenAsync();
        Assert.StartsWith("12D3KooW", listener.PeerId, StringComparison.Ordinal); // Ed25519 PeerId
        var address = Assert.Single(listener.ListenAddresses);
        Assert.StartsWith("/ip4/127.0.0.1/tcp/", address, StringComparison.Ordinal);
        Assert.EndsWith($"/p2p/{listener.PeerId}", address, StringComparison.Ordinal);

        var run = await JsLibp2pPeer.DialAsync(address, count: 3);

        Assert.True(run.ExitCode == 0, run.ToString());
        var connected = run.Single("connected");
        Assert.Equal(listener.PeerId, connected.GetString("remotePeer"));
        Assert.Equal("/tls/1.0.0", connected.GetString("encryption"));
        Assert.Equal("/yamux/1.0.0", connected.GetString("multiplexer"));
        var dialerId = connected.GetString("localPeerId");
        Assert.NotNull(dialerId);

        var pings = run.All("ping");
        Assert.Equal(3, pings.Count);
        Assert.All(pings, p => Assert.True(p.GetNumber("rtt") >= 0, p.Line));

        var identify = run.Single("identify");
        Assert.Equal(listener.PeerId, identify.GetString("peerId"));
        Assert.Contains("/ipfs/ping/1.0.0", identify.GetStrings("protocols"));
        Assert.Contains("/ipfs/id/1.0.0", identify.GetStrings("protocols"));
        Assert.StartsWith("/ip4/127.0.0.1/tcp/", identify.GetString("observedAddr"), StringComparison.Ordinal);
        Assert.StartsWith("js-libp2p/", identify.GetString("agentVersion"), StringComparison.Ordinal);

        // The listener saw the same peer, its pings, and identified it in turn.
        var inbound = await listener.WaitForEventAsync("connection", e => e.GetString("remotePeer") == dialerId);
        Assert.Equal("inbound", inbound.GetString("direction"));
        Assert.Equal("/tls/1.0.0", inbound.GetString("encryption"));
        await listener.WaitForEventAsync("identify", e => e.GetString("peerId") == dialerId);
        Assert.Equal(3, listener.Events.Count(e => e.Name == "inbound-ping"));
    }

    [JsLibp2pFact]
    public async Task JsVerifiesItsOwnCertificate_AndRejectsAnotherPeerId()
    {
        var made = await JsLibp2pPeer.RunAsync(["make-cert", "--key-type", "Ed25519"], JsLibp2pPeer.DefaultTimeout);
        Assert.True(made.ExitCode == 0, made.ToString());
        var cert = made.Single("cert");
        var peerId = cert.GetString("peerId")!;
        var path = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(path, cert.GetString("certPem"));

            var ok = await JsLibp2pPeer.RunAsync(["verify-cert", path, "--expect", peerId], JsLibp2pPeer.DefaultTimeout);
            Assert.True(ok.ExitCode == 0, ok.ToString());
            Assert.Equal(peerId, ok.Single("cert-ok").GetString("peerId"));

            // Any other valid PeerId: the listener's in a fresh js node would do; a fixed Ed25519 one is enough.
            const string other = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";
            var mismatch = await JsLibp2pPeer.RunAsync(["verify-cert", path, "--expect", other], JsLibp2pPeer.DefaultTimeout);
            Assert.Equal(1, mismatch.ExitCode);
            Assert.Equal("UnexpectedPeerError", mismatch.Single("error").GetString("name"));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
