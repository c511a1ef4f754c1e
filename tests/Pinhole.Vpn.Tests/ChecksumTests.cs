using Pinhole.Vpn.Offload;

namespace Pinhole.Vpn.Tests;

public class ChecksumTests
{
    [Fact]
    public void VectorSum_EqualsThePlainLoop_AtEveryLengthAndOffset()
    {
        var random = new Random(11);
        byte[] buffer = new byte[70_000];
        random.NextBytes(buffer);
        for (int length = 0; length <= 600; length++)
        {
            int offset = random.Next(0, 64);
            ReadOnlySpan<byte> data = buffer.AsSpan(offset, length);
            ulong start = (ulong)random.Next();
            Assert.Equal(Checksum.Finish(Checksum.AddScalar(data, start)), Checksum.Finish(Checksum.Add(data, start)));
        }
        foreach (int length in new[] { 1400, 1423, 9000, 65535, 69_999 })
        {
            ReadOnlySpan<byte> data = buffer.AsSpan(1, length);
            Assert.Equal(Checksum.Finish(Checksum.AddScalar(data)), Checksum.Finish(Checksum.Add(data)));
        }
    }

    [Fact]
    public void EdgeValues_AllOnesAndZeros()
    {
        byte[] ones = new byte[4096];
        Array.Fill(ones, (byte)0xFF);
        Assert.Equal(Checksum.Finish(Checksum.AddScalar(ones)), Checksum.Finish(Checksum.Add(ones)));
        Assert.Equal(0xFFFF, Checksum.Finish(Checksum.Add(new byte[4096])));
        // Chained even chunks sum like the whole.
        byte[] data = new byte[3000];
        new Random(3).NextBytes(data);
        Assert.Equal(Checksum.Finish(Checksum.Add(data)), Checksum.Finish(Checksum.Add(data.AsSpan(1000), Checksum.Add(data.AsSpan(0, 1000)))));
    }
}
