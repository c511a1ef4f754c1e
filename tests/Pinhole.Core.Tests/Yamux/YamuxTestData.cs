namespace Pinhole.Core.Tests.Yamux;

/// <summary>Deterministic payloads and helpers to move them through streams.</summary>
internal static class YamuxTestData
{
    public static byte[] Pattern(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    public static async Task<byte[]> ReadToEndAsync(Stream stream, CancellationToken cancellationToken = default)
    {
        using var memory = new MemoryStream();
        var buffer = new byte[64 * 1024];
        int read;
        while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0)
        {
            memory.Write(buffer, 0, read);
        }
        return memory.ToArray();
    }

    public static async Task ReadExactlyAsync(Stream stream, Memory<byte> buffer)
    {
        await stream.ReadExactlyAsync(buffer);
    }
}
