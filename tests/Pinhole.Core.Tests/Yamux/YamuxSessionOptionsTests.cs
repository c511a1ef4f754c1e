using Pinhole.Transport.Yamux;

namespace Pinhole.Core.Tests.Yamux;

public class YamuxSessionOptionsTests
{
    [Fact]
    public void Defaults_AreValid() => new YamuxSessionOptions().Validate();

    [Theory]
    [InlineData(nameof(YamuxSessionOptions.InitialStreamWindow))]
    [InlineData(nameof(YamuxSessionOptions.MaxStreamWindow))]
    [InlineData(nameof(YamuxSessionOptions.MaxSessionReceiveWindow))]
    [InlineData(nameof(YamuxSessionOptions.MaxStreams))]
    [InlineData(nameof(YamuxSessionOptions.MaxUnacknowledgedOutboundStreams))]
    [InlineData(nameof(YamuxSessionOptions.MaxPendingInboundStreams))]
    [InlineData(nameof(YamuxSessionOptions.MaxDataFrameSize))]
    [InlineData(nameof(YamuxSessionOptions.MaxWriteBufferSize))]
    [InlineData(nameof(YamuxSessionOptions.KeepAliveInterval))]
    [InlineData(nameof(YamuxSessionOptions.PingTimeout))]
    [InlineData(nameof(YamuxSessionOptions.IdleTimeout))]
    [InlineData(nameof(YamuxSessionOptions.StreamCloseTimeout))]
    public void Validate_NamesTheBadOption(string name)
    {
        var options = new YamuxSessionOptions();
        switch (name)
        {
            case nameof(options.InitialStreamWindow): options.InitialStreamWindow = 64 * 1024; break;
            case nameof(options.MaxStreamWindow): options.MaxStreamWindow = 100 * 1024; break;
            case nameof(options.MaxSessionReceiveWindow): options.MaxSessionReceiveWindow = 1024; break;
            case nameof(options.MaxStreams): options.MaxStreams = 0; break;
            case nameof(options.MaxUnacknowledgedOutboundStreams): options.MaxUnacknowledgedOutboundStreams = 0; break;
            case nameof(options.MaxPendingInboundStreams): options.MaxPendingInboundStreams = -1; break;
            case nameof(options.MaxDataFrameSize): options.MaxDataFrameSize = 10; break;
            case nameof(options.MaxWriteBufferSize): options.MaxWriteBufferSize = 1000; break;
            case nameof(options.KeepAliveInterval): options.KeepAliveInterval = TimeSpan.FromSeconds(-1); break;
            case nameof(options.PingTimeout): options.PingTimeout = TimeSpan.Zero; break;
            case nameof(options.IdleTimeout): options.IdleTimeout = TimeSpan.FromSeconds(-1); break;
            case nameof(options.StreamCloseTimeout): options.StreamCloseTimeout = TimeSpan.Zero; break;
        }
        var ex = Assert.Throws<ArgumentOutOfRangeException>(options.Validate);
        Assert.Equal(name, ex.ParamName);
    }
}
