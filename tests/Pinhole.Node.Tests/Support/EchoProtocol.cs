namespace Pinhole.Node.Tests;

/// <summary>A test protocol that echoes every byte back until the stream ends.</summary>
internal static class EchoProtocol
{
    internal const string Id = "/test/echo/1.0.0";

    internal static async Task ServeAsync(PeerConnection connection, PeerStream stream, CancellationToken cancellationToken)
    {
        await using (stream)
        {
            var buffer = new byte[4096];
            int n;
            while ((n = await stream.ReadAsync(buffer, cancellationToken)) > 0)
            {
                await stream.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
            }
            stream.CompleteWrites();
        }
    }

    internal static async Task<byte> RoundTripAsync(PeerStream stream, byte value, CancellationToken cancellationToken)
    {
        await stream.WriteAsync(new[] { value }, cancellationToken);
        var one = new byte[1];
        await stream.ReadExactlyAsync(one, cancellationToken);
        return one[0];
    }
}
