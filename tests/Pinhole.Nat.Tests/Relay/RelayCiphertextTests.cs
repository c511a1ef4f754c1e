using System.Collections.Concurrent;
using System.Text;
using Pinhole.Nat.Tests.Support;

namespace Pinhole.Nat.Tests.Relay;

/// <summary>What a relay forwards is the peers' TLS, never their plaintext.</summary>
public sealed class RelayCiphertextTests
{
    [Fact]
    public async Task TheRelayForwardsOnlyTlsRecords()
    {
        await using var r = await TestPeer.StartAsync();
        var server = r.ServeRelay(o => o.CircuitLimit = null);
        var forward = new ConcurrentQueue<byte[]>();
        var back = new ConcurrentQueue<byte[]>();
        server.CircuitTap = (toTarget, chunk) => (toTarget ? forward : back).Enqueue(chunk.ToArray());
        await using var a = await TestPeer.StartAsync();
        a.UseRelayClient();
        await using var b = await TestPeer.StartAsync();
        b.UseRelayClient();
        var aToR = await a.ConnectAsync(r);
        var bToR = await b.ConnectAsync(r);
        await a.RelayClient!.ReserveAsync(aToR, TestPeer.Bounded());
        var dialed = await b.RelayClient!.ConnectAsync(bToR, a.Id, TestPeer.Bounded());

        var marker = Encoding.ASCII.GetBytes("PINHOLE-PLAINTEXT-MARKER-0123456789");
        var payload = Enumerable.Range(0, 2000).SelectMany(_ => marker).ToArray();
        await using (var stream = await dialed.OpenStreamAsync("/test/bulk/1.0.0", TestPeer.Bounded()))
        {
            await stream.WriteAsync(payload, TestPeer.Bounded());
            stream.CompleteWrites();
            var (_, incoming) = await a.NextStreamAsync();
            await using (incoming)
            {
                Assert.Equal(payload, await RelayEndToEndTests.ReadAllAsync(incoming));
                await incoming.WriteAsync(payload, TestPeer.Bounded());
                incoming.CompleteWrites();
                Assert.Equal(payload, await RelayEndToEndTests.ReadAllAsync(stream));
            }
        }
        await dialed.DisposeAsync();
        await RelayEndToEndTests.WaitUntilAsync(() => server.CircuitCount == 0);

        var toTarget = forward.SelectMany(c => c).ToArray();
        var toInitiator = back.SelectMany(c => c).ToArray();
        Assert.True(toTarget.Length > payload.Length, "the relay forwarded less than the application sent");
        Assert.True(toInitiator.Length > payload.Length);
        Assert.Equal(-1, toTarget.AsSpan().IndexOf(marker.AsSpan(0, 12)));
        Assert.Equal(-1, toInitiator.AsSpan().IndexOf(marker.AsSpan(0, 12)));
        Assert.Equal(-1, toTarget.AsSpan().IndexOf("/test/bulk"u8));

        // Initiator → target: multistream /tls/1.0.0, then nothing but TLS records.
        var afterNegotiation = SkipMultistream(toTarget, 2);
        AssertOnlyTlsRecords(toTarget.AsSpan(afterNegotiation), expectClientHello: true);
        AssertOnlyTlsRecords(toInitiator.AsSpan(SkipMultistream(toInitiator, 2)), expectClientHello: false);
    }

    /// <summary>Skips <paramref name="messages"/> varint-prefixed multistream messages (header and /tls/1.0.0).</summary>
    private static int SkipMultistream(byte[] bytes, int messages)
    {
        var at = 0;
        for (var i = 0; i < messages; i++)
        {
            var length = bytes[at];
            Assert.True(length < 0x80);
            Assert.Equal((byte)'\n', bytes[at + length]);
            at += 1 + length;
        }
        Assert.Equal("\v/tls/1.0.0\n", Encoding.ASCII.GetString(bytes, at - 12, 12));
        return at;
    }

    private static void AssertOnlyTlsRecords(ReadOnlySpan<byte> bytes, bool expectClientHello)
    {
        Assert.Equal(0x16, bytes[0]); // handshake: ClientHello or ServerHello
        if (expectClientHello)
        {
            Assert.Equal(0x01, bytes[5]);
        }
        var records = 0;
        var applicationData = 0;
        while (!bytes.IsEmpty)
        {
            Assert.True(bytes.Length >= 5, "a TLS record header is cut off");
            var type = bytes[0];
            Assert.Contains(type, new byte[] { 0x14, 0x15, 0x16, 0x17 });
            Assert.Equal(0x03, bytes[1]);
            Assert.True(bytes[2] is 0x01 or 0x03);
            var length = (bytes[3] << 8) | bytes[4];
            Assert.InRange(length, 1, 16384 + 256);
            Assert.True(bytes.Length >= 5 + length, "a TLS record is cut off");
            if (type == 0x17)
            {
                applicationData++;
            }
            records++;
            bytes = bytes[(5 + length)..];
        }
        Assert.True(applicationData > 3, $"only {applicationData} application-data records in {records}");
    }
}
