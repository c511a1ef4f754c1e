using System.Text;
using Pinhole.Transport.Yamux;

namespace Pinhole.Core.Tests.Yamux;

/// <summary>
/// <see cref="YamuxStream.TryDeferAnswer"/>: the listener's multistream answer to an optimistic dialer waits for the
/// stream's first write, half-close, dispose or reset, and then goes out ahead of everything else the stream sends.
/// </summary>
public sealed class YamuxDeferredAnswerTests
{
    private static readonly TimeSpan Timeout = YamuxTestPair.Timeout;
    private static readonly byte[] Answer = Encoding.ASCII.GetBytes("<answer>");

    /// <summary>Opens a stream whose opener sent "abc" and whose acceptor read one byte of it (so two are buffered).</summary>
    private static async Task<(YamuxStream Opened, YamuxStream Accepted)> OpenWithBufferedDataAsync(YamuxTestPair pair)
    {
        var (opened, accepted) = await pair.OpenAsync(pair.Client);
        await opened.WriteAsync(Encoding.ASCII.GetBytes("abc")).AsTask().WaitAsync(Timeout);
        var one = new byte[1];
        Assert.Equal(1, await accepted.ReadAsync(one).AsTask().WaitAsync(Timeout));
        return (opened, accepted);
    }

    private static async Task<string> ReadToEndAsync(Stream stream)
    {
        var all = new MemoryStream();
        var buffer = new byte[256];
        int read;
        while ((read = await stream.ReadAsync(buffer).AsTask().WaitAsync(Timeout)) > 0)
        {
            all.Write(buffer, 0, read);
        }
        return Encoding.ASCII.GetString(all.ToArray());
    }

    [Fact]
    public async Task DeferredAnswerLeadsTheFirstWrite()
    {
        await using var pair = YamuxTestPair.Start();
        var (opened, accepted) = await OpenWithBufferedDataAsync(pair);
        Assert.True(accepted.TryDeferAnswer(Answer));
        await accepted.WriteAsync(Encoding.ASCII.GetBytes("reply")).AsTask().WaitAsync(Timeout);
        accepted.CompleteWrites();
        Assert.Equal("<answer>reply", await ReadToEndAsync(opened));
    }

    [Theory]
    [InlineData("complete")]
    [InlineData("dispose")]
    public async Task DeferredAnswerGoesWithTheEndWhenNothingIsWritten(string how)
    {
        await using var pair = YamuxTestPair.Start();
        var (opened, accepted) = await OpenWithBufferedDataAsync(pair);
        Assert.True(accepted.TryDeferAnswer(Answer));
        if (how == "complete")
        {
            accepted.CompleteWrites();
        }
        else
        {
            await accepted.DisposeAsync();
        }
        Assert.Equal("<answer>", await ReadToEndAsync(opened));
    }

    [Fact]
    public async Task DeferredAnswerPrecedesAReset()
    {
        await using var pair = YamuxTestPair.Start();
        var (opened, accepted) = await OpenWithBufferedDataAsync(pair);
        Assert.True(accepted.TryDeferAnswer(Answer));
        accepted.Abort();
        // The answer was queued before the RST; the reader sees it or (if the reset overtook its read) the reset.
        var buffer = new byte[Answer.Length];
        try
        {
            int read = await opened.ReadAsync(buffer).AsTask().WaitAsync(Timeout);
            Assert.Equal("<answer>"[..read], Encoding.ASCII.GetString(buffer, 0, read));
        }
        catch (PeerException e)
        {
            Assert.Equal(PeerError.StreamAborted, e.Error);
        }
    }

    [Fact]
    public async Task NoDeferralWhenTheDialerSentNothingPastItsProposal()
    {
        await using var pair = YamuxTestPair.Start();
        var (opened, accepted) = await pair.OpenAsync(pair.Client);
        await opened.WriteAsync(Encoding.ASCII.GetBytes("a")).AsTask().WaitAsync(Timeout);
        var one = new byte[1];
        Assert.Equal(1, await accepted.ReadAsync(one).AsTask().WaitAsync(Timeout));
        // Nothing is buffered: a dialer that waits for the answer must get it now, so the caller writes it itself.
        Assert.False(accepted.TryDeferAnswer(Answer));
        await opened.DisposeAsync();
        await accepted.DisposeAsync();
    }

    [Fact]
    public async Task OnlyOneAnswerIsDeferredAndNotAfterTheHalfClose()
    {
        await using var pair = YamuxTestPair.Start();
        var (opened, accepted) = await OpenWithBufferedDataAsync(pair);
        Assert.True(accepted.TryDeferAnswer(Answer));
        Assert.False(accepted.TryDeferAnswer(Answer));
        accepted.CompleteWrites();
        Assert.False(accepted.TryDeferAnswer(Answer));
        Assert.Equal("<answer>", await ReadToEndAsync(opened));
    }
}
