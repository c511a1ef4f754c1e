using System.Buffers.Binary;
using System.Net;
using Pinhole.Vpn.Tun;

namespace Pinhole.Vpn.Tests;

public class NetlinkMessageTests
{
    [Fact]
    public void Address_IsNewaddrWithLocalAndAddressAttributes()
    {
        byte[] buffer = new byte[256];
        int n = NetlinkMessage.Address(buffer, 7, true, 3, IPAddress.Parse("10.1.2.3"), 24);
        Assert.Equal(16 + 8 + 8 + 8, n);
        Assert.Equal((uint)n, BinaryPrimitives.ReadUInt32LittleEndian(buffer));
        Assert.Equal(NetlinkMessage.RtmNewAddr, BinaryPrimitives.ReadUInt16LittleEndian(buffer.AsSpan(4)));
        Assert.Equal(0x1 | 0x4 | 0x100 | 0x400, BinaryPrimitives.ReadUInt16LittleEndian(buffer.AsSpan(6)));
        Assert.Equal(7u, BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(8)));
        Assert.Equal(2, buffer[16]);
        Assert.Equal(24, buffer[17]);
        Assert.Equal(3, BinaryPrimitives.ReadInt32LittleEndian(buffer.AsSpan(20)));
        Assert.Equal([10, 1, 2, 3], buffer.AsSpan(28, 4).ToArray());
    }

    [Fact]
    public void Route_DefaultHasNoDestination()
    {
        byte[] buffer = new byte[256];
        int n = NetlinkMessage.Route(buffer, 1, true, 5, IPNetwork.Parse("0.0.0.0/0"), 51820, null);
        Assert.Equal(16 + 12 + 8 + 8, n);
        Assert.Equal(252, buffer[16 + 4]);
    }

    [Fact]
    public void Ack_IsFoundAndErrnoNegated()
    {
        byte[] answer = new byte[36];
        BinaryPrimitives.WriteUInt32LittleEndian(answer, 36);
        BinaryPrimitives.WriteUInt16LittleEndian(answer.AsSpan(4), NetlinkMessage.NlmsgError);
        BinaryPrimitives.WriteUInt32LittleEndian(answer.AsSpan(8), 9);
        BinaryPrimitives.WriteInt32LittleEndian(answer.AsSpan(16), -19);
        Assert.True(NetlinkMessage.TryReadAck(answer, 9, out int errno));
        Assert.Equal(19, errno);
        Assert.False(NetlinkMessage.TryReadAck(answer, 10, out _));
    }

    [Fact]
    public void MalformedAnswers_AreFormatExceptions()
    {
        byte[] lying = new byte[20];
        BinaryPrimitives.WriteUInt32LittleEndian(lying, 400);
        Assert.Throws<FormatException>(() => NetlinkMessage.TryReadAck(lying, 1, out _));
        byte[] tiny = new byte[20];
        BinaryPrimitives.WriteUInt32LittleEndian(tiny, 3);
        Assert.Throws<FormatException>(() => NetlinkMessage.TryReadAck(tiny, 1, out _));
        var random = new Random(3);
        for (int i = 0; i < 10000; i++)
        {
            byte[] junk = new byte[random.Next(0, 100)];
            random.NextBytes(junk);
            try
            {
                NetlinkMessage.TryReadAck(junk, 1, out _);
                NetlinkMessage.ReadLinkMtu(junk, 1);
            }
            catch (FormatException)
            {
            }
        }
    }
}
