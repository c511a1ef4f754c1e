namespace Pinhole.Messaging.Internal;

/// <summary>
/// MessagePack extension type numbers of things attached to messages (libchan's numbering). The ext payload
/// is the attachment id as a uvarint; the stream that carries the attachment starts with the same id.
/// </summary>
internal static class AttachmentType
{
    /// <summary>A byte stream both sides read and write.</summary>
    public const sbyte DuplexStream = 1;
    /// <summary>A byte stream the message's receiver reads (the message's sender writes).</summary>
    public const sbyte ReadStream = 2;
    /// <summary>A byte stream the message's receiver writes (the message's sender reads).</summary>
    public const sbyte WriteStream = 3;
    /// <summary>A Sender: the message's receiver sends on it; the message's sender reads.</summary>
    public const sbyte Sender = 4;
    /// <summary>A Receiver: the message's receiver reads from it; the message's sender writes.</summary>
    public const sbyte Receiver = 5;
}
