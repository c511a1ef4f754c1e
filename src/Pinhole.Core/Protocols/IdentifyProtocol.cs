using System.Buffers;
using Pinhole.Codecs;

namespace Pinhole.Protocols;

/// <summary>
/// libp2p identify (<c>/ipfs/id/1.0.0</c>): the peer that accepts the stream writes one
/// <see cref="IdentifyMessage"/> and closes its side; the opener reads it.
/// </summary>
/// <remarks>
/// The spec leaves the framing implicit; every implementation writes the protobuf with an unsigned
/// varint length prefix (js-libp2p <c>pbStream(...).pb(Identify)</c>, go-libp2p <c>pbio.NewDelimitedWriter</c>).
/// go-libp2p may split a large message into several length-prefixed parts and its reader merges up to
/// ten parts until end of stream; <see cref="ReadAsync"/> does the same.
/// <code>
/// stream = 1*( uvarint(length) Identify-protobuf[length] ) EOF
/// </code>
/// </remarks>
public static class IdentifyProtocol
{
    /// <summary>The protocol id negotiated with multistream-select.</summary>
    public const string ProtocolId = "/ipfs/id/1.0.0";

    /// <summary>The push variant: the opener writes the message (same framing).</summary>
    public const string PushProtocolId = "/ipfs/id/push/1.0.0";

    /// <summary>Most length-prefixed parts merged into one message (go-libp2p's limit).</summary>
    public const int MaxParts = 10;

    /// <summary>Writes one length-prefixed message and flushes; the caller then closes its side.</summary>
    public static async Task WriteAsync(Stream stream, IdentifyMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(message);
        var body = message.Encode();
        var frame = new byte[Varint.GetLength((ulong)body.Length) + body.Length];
        var n = Varint.Write(frame, (ulong)body.Length);
        body.CopyTo(frame, n);
        await stream.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads length-prefixed parts until end of stream and merges them.</summary>
    /// <exception cref="PeerException"><see cref="PeerError.ProtocolViolation"/> for a malformed, oversized or
    /// truncated message or too many parts; <see cref="PeerError.ConnectionClosed"/> if the stream ends before any message.</exception>
    public static async Task<IdentifyMessage> ReadAsync(Stream stream, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var message = new IdentifyMessage();
        var total = 0;
        for (var part = 0; ; part++)
        {
            var length = await ReadLengthAsync(stream, cancellationToken).ConfigureAwait(false);
            if (length < 0)
            {
                if (part == 0)
                {
                    throw new PeerException(PeerError.ConnectionClosed, "The identify stream ended before any message.");
                }
                return message;
            }
            if (part == MaxParts)
            {
                throw new PeerException(PeerError.ProtocolViolation, $"The identify message has more than {MaxParts} parts.");
            }
            total += length;
            if (total > IdentifyMessage.MaxEncodedLength)
            {
                throw new PeerException(PeerError.ProtocolViolation, $"The identify message is longer than {IdentifyMessage.MaxEncodedLength} bytes.");
            }
            var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
            try
            {
                await stream.ReadExactlyAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
                message = IdentifyMessage.Merge(message, buffer.AsSpan(0, length));
            }
            catch (EndOfStreamException e)
            {
                throw new PeerException(PeerError.ProtocolViolation, $"The identify stream ended inside a {length}-byte message.", e);
            }
            catch (FormatException e)
            {
                throw new PeerException(PeerError.ProtocolViolation, $"Malformed identify message: {e.Message}", e);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    /// <summary>Reads a varint length byte by byte; -1 at a clean end of stream.</summary>
    private static async ValueTask<int> ReadLengthAsync(Stream stream, CancellationToken cancellationToken)
    {
        var prefix = new byte[Varint.MaxMultiformatsLength];
        for (var i = 0; i < prefix.Length; i++)
        {
            if (await stream.ReadAsync(prefix.AsMemory(i, 1), cancellationToken).ConfigureAwait(false) == 0)
            {
                return i == 0 ? -1 : throw new PeerException(PeerError.ProtocolViolation, "The identify stream ended inside a length prefix.");
            }
            switch (Varint.TryRead(prefix.AsSpan(0, i + 1), out var value, out _))
            {
                case Varint.ReadStatus.Done when value > IdentifyMessage.MaxEncodedLength:
                    throw new PeerException(PeerError.ProtocolViolation, $"Identify message of {value} bytes exceeds the limit of {IdentifyMessage.MaxEncodedLength}.");
                case Varint.ReadStatus.Done:
                    return (int)value;
                case Varint.ReadStatus.Invalid:
                    throw new PeerException(PeerError.ProtocolViolation, "Invalid identify length prefix.");
                default:
                    if (i + 1 >= 3)
                    {
                        // 64 KiB fits in 3 varint bytes; a longer prefix can only announce too much.
                        throw new PeerException(PeerError.ProtocolViolation, $"Identify length prefix announces more than {IdentifyMessage.MaxEncodedLength} bytes.");
                    }
                    break;
            }
        }
        throw new PeerException(PeerError.ProtocolViolation, "Invalid identify length prefix.");
    }
}
