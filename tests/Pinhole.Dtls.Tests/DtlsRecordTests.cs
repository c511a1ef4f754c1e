using Pinhole.Dtls.Internal;

namespace Pinhole.Dtls.Tests;

public class DtlsRecordTests
{
    private static byte[] Record(byte type, int epoch, int length, byte fill = 0)
    {
        byte[] r = new byte[13 + length];
        r[0] = type;
        r[1] = 0xFE;
        r[2] = 0xFD;
        r[3] = (byte)(epoch >> 8);
        r[4] = (byte)epoch;
        r[11] = (byte)(length >> 8);
        r[12] = (byte)length;
        r.AsSpan(13).Fill(fill);
        return r;
    }

    private static byte[] ClientHello(int bodyLength = 60, int fragmentOffset = 0)
    {
        byte[] r = Record(22, 0, 12 + bodyLength);
        r[13] = 1;                                   // client_hello
        r[14] = 0; r[15] = 0; r[16] = (byte)bodyLength;
        r[19] = 0; r[20] = 0; r[21] = (byte)fragmentOffset;
        r[22] = 0; r[23] = 0; r[24] = (byte)bodyLength;
        return r;
    }

    [Fact]
    public void RecordLength_ReadsHeader_RejectsTruncatedOrForeign()
    {
        Assert.Equal(13 + 5, DtlsRecord.RecordLength(Record(23, 1, 5)));
        Assert.Equal(-1, DtlsRecord.RecordLength(Record(23, 1, 5)[..17]));
        Assert.Equal(-1, DtlsRecord.RecordLength(new byte[12]));
        byte[] tls = Record(23, 1, 5);
        tls[1] = 3; // TLS, not DTLS
        Assert.Equal(-1, DtlsRecord.RecordLength(tls));
    }

    [Fact]
    public void IsClientHello_AcceptsOnlyUnfragmentedEpochZeroClientHello()
    {
        Assert.True(DtlsRecord.IsClientHello(ClientHello()));
        Assert.False(DtlsRecord.IsClientHello(ClientHello(fragmentOffset: 1)));
        Assert.False(DtlsRecord.IsClientHello(ClientHello()[..40]));
        byte[] epoch1 = ClientHello();
        epoch1[4] = 1;
        Assert.False(DtlsRecord.IsClientHello(epoch1));
        byte[] serverHello = ClientHello();
        serverHello[13] = 2;
        Assert.False(DtlsRecord.IsClientHello(serverHello));
        Assert.False(DtlsRecord.IsClientHello(Record(23, 0, 100)));
        Assert.False(DtlsRecord.IsClientHello([]));
    }

    [Fact]
    public void Pack_CoalescesRecordsUpToMtu_AndKeepsOversizedAlone()
    {
        byte[] stream = [.. Record(22, 0, 100), .. Record(20, 0, 1), .. Record(22, 1, 200), .. Record(22, 1, 1000)];
        Span<(int, int)> cuts = stackalloc (int, int)[8];
        int n = DtlsRecord.Pack(stream, 400, cuts);
        Assert.Equal(2, n);
        Assert.Equal((0, 113 + 14 + 213), cuts[0]);
        Assert.Equal((340, 1013), cuts[1]);
        Assert.Equal(-1, DtlsRecord.Pack(stream[..^1], 400, cuts));
        Assert.Equal(0, DtlsRecord.Pack([], 400, cuts));
    }

    [Fact]
    public void Pack_NeverCrashesOnNoise()
    {
        var random = new Random(11);
        Span<(int, int)> cuts = stackalloc (int, int)[4];
        for (int i = 0; i < 2000; i++)
        {
            byte[] noise = new byte[random.Next(0, 200)];
            random.NextBytes(noise);
            if (noise.Length > 1) noise[1] = 0xFE;
            _ = DtlsRecord.Pack(noise, 64, cuts);
            _ = DtlsRecord.IsClientHello(noise);
        }
    }
}
