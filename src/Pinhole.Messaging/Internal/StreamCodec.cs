using Pinhole.Messaging.MessagePack;

namespace Pinhole.Messaging.Internal;

/// <summary>
/// A byte stream inside a message. Writing one opens a transport stream and copies: what the local stream
/// yields goes to the peer (if it can be read), what the peer writes goes into it (if it can be written).
/// The peer reads back a Stream with the mirror-image abilities. The local stream stays the caller's to dispose.
/// </summary>
internal sealed class StreamCodec : IMessageCodec<Stream>
{
    public static readonly StreamCodec Instance = new();

    public void Write(ref MessagePackWriter writer, Stream value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var (type, id) = Attach(AttachmentCodec.Context(ref writer, "Stream"), value);
        AttachmentCodec.WriteId(ref writer, type, id);
    }

    public Stream Read(ref MessagePackReader reader)
    {
        var (_, stream, type) = AttachmentCodec.Read(ref reader, AttachmentType.DuplexStream, AttachmentType.WriteStream, "Stream");
        return Bind(stream, type);
    }

    /// <summary>Registers <paramref name="value"/> with the message being encoded; returns its ext type and id.</summary>
    internal static (sbyte Type, ulong Id) Attach(EncodeContext context, Stream value)
    {
        sbyte type = (value.CanRead, value.CanWrite) switch
        {
            (true, true) => AttachmentType.DuplexStream,
            (true, false) => AttachmentType.ReadStream,
            (false, true) => AttachmentType.WriteStream,
            _ => throw new ArgumentException("The stream can neither be read nor written.", nameof(value)),
        };
        return (type, context.Add(stream => _ = CopyAsync(value, stream)));
    }

    /// <summary>The local end of a stream attachment of ext <paramref name="type"/> (1 duplex, 2 readable, 3 writable).</summary>
    internal static Stream Bind(Task<PeerStream> stream, sbyte type) =>
        new AttachedStream(stream, canRead: type != AttachmentType.WriteStream, canWrite: type != AttachmentType.ReadStream);

    private static async Task CopyAsync(Stream local, Task<PeerStream> remoteTask)
    {
        var remote = await remoteTask.ConfigureAwait(false);
        try
        {
            var outgoing = local.CanRead ? SendAsync(local, remote) : Task.CompletedTask;
            if (!local.CanRead)
            {
                remote.CompleteWrites();
            }
            var incoming = local.CanWrite ? remote.CopyToAsync(local) : Task.CompletedTask;
            await Task.WhenAll(outgoing, incoming).ConfigureAwait(false);
            if (local.CanWrite)
            {
                await local.FlushAsync().ConfigureAwait(false);
            }
            await remote.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Either side failed: reset so the peer's pending reads and writes fail too.
            remote.Abort();
            await remote.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static async Task SendAsync(Stream local, PeerStream remote)
    {
        await local.CopyToAsync(remote, 64 * 1024).ConfigureAwait(false);
        remote.CompleteWrites();
    }
}
