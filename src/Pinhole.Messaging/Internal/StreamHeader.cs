using Pinhole.Codecs;

namespace Pinhole.Messaging.Internal;

/// <summary>
/// The first bytes the opener of a <see cref="MessageSession.Protocol"/> stream writes, saying what the stream is for.
/// <code>
/// +-------------+-----------------------------+
/// | kind (u8)   | id (uvarint, kind 1 only)   |
/// +-------------+-----------------------------+
/// kind 0: a top-level channel; the opener sends messages (OpenSenderAsync / AcceptReceiverAsync).
/// kind 1: the stream of a channel or byte stream attached to a message; id is the one in its ext value.
/// </code>
/// </summary>
internal static class StreamHeader
{
    public const byte TopLevel = 0;
    public const byte Attachment = 1;

    public static async ValueTask WriteAsync(Stream stream, byte kind, ulong id, CancellationToken cancellationToken)
    {
        var buffer = new byte[1 + Varint.MaxLength];
        buffer[0] = kind;
        int length = 1;
        if (kind == Attachment)
        {
            length += Varint.Write(buffer.AsSpan(1), id);
        }
        await stream.WriteAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads the header byte by byte so that nothing after it is consumed.</summary>
    public static async ValueTask<(byte Kind, ulong Id)> ReadAsync(Stream stream, CancellationToken cancellationToken)
    {
        var buffer = new byte[Varint.MaxMultiformatsLength];
        await stream.ReadExactlyAsync(buffer.AsMemory(0, 1), cancellationToken).ConfigureAwait(false);
        byte kind = buffer[0];
        if (kind == TopLevel)
        {
            return (kind, 0);
        }
        if (kind != Attachment)
        {
            throw new PeerException(PeerError.ProtocolViolation, $"Unknown channel stream kind {kind}.");
        }
        for (int i = 0; i < buffer.Length; i++)
        {
            await stream.ReadExactlyAsync(buffer.AsMemory(i, 1), cancellationToken).ConfigureAwait(false);
            if ((buffer[i] & 0x80) == 0)
            {
                if (Varint.TryRead(buffer.AsSpan(0, i + 1), out ulong id, out _) != Varint.ReadStatus.Done)
                {
                    break;
                }
                return (kind, id);
            }
        }
        throw new PeerException(PeerError.ProtocolViolation, "Malformed channel stream id.");
    }
}
