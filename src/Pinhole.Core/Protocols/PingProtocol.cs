using System.Security.Cryptography;

namespace Pinhole.Protocols;

/// <summary>
/// libp2p ping (<c>/ipfs/ping/1.0.0</c>, libp2p/specs ping/ping.md): the dialer sends 32 random bytes,
/// the listener echoes them; the dialer measures the round trip. One stream may carry many pings.
/// </summary>
/// <remarks>
/// <code>
/// dialer  -> listener : 32 random bytes
/// listener -> dialer  : the same 32 bytes
/// (repeat; either side closes the stream when done)
/// </code>
/// </remarks>
public static class PingProtocol
{
    /// <summary>The protocol id negotiated with multistream-select.</summary>
    public const string ProtocolId = "/ipfs/ping/1.0.0";

    /// <summary>Size of one ping payload.</summary>
    public const int PayloadSize = 32;

    /// <summary>Sends one ping on <paramref name="stream"/> and returns the round-trip time.</summary>
    /// <exception cref="PeerException"><see cref="PeerError.ProtocolViolation"/> when the echo differs;
    /// <see cref="PeerError.ConnectionClosed"/> when the stream ends before the echo is complete.</exception>
    public static async Task<TimeSpan> PingAsync(Stream stream, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(timeProvider);
        var buffer = new byte[PayloadSize * 2];
        var sent = buffer.AsMemory(0, PayloadSize);
        var received = buffer.AsMemory(PayloadSize, PayloadSize);
        RandomNumberGenerator.Fill(sent.Span);
        var start = timeProvider.GetTimestamp();
        await stream.WriteAsync(sent, cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        var filled = await stream.ReadAtLeastAsync(received, PayloadSize, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        var rtt = timeProvider.GetElapsedTime(start);
        if (filled < PayloadSize)
        {
            throw new PeerException(PeerError.ConnectionClosed, $"The ping stream ended after {filled} of {PayloadSize} echoed bytes.");
        }
        if (!sent.Span.SequenceEqual(received.Span))
        {
            throw new PeerException(PeerError.ProtocolViolation, "The ping echo does not match the 32 bytes sent.");
        }
        return rtt;
    }

    /// <summary>Echoes 32-byte blocks until the dialer ends the stream; returns at a clean end.</summary>
    /// <exception cref="PeerException"><see cref="PeerError.ProtocolViolation"/> when the stream ends inside a block.</exception>
    public static async Task ServeAsync(Stream stream, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var buffer = new byte[PayloadSize];
        while (true)
        {
            var filled = await stream.ReadAtLeastAsync(buffer, PayloadSize, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            if (filled == 0)
            {
                return;
            }
            if (filled < PayloadSize)
            {
                throw new PeerException(PeerError.ProtocolViolation, $"The ping stream ended inside a block ({filled} of {PayloadSize} bytes).");
            }
            await stream.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
