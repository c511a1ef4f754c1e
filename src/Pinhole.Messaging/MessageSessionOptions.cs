using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pinhole.Messaging.MessagePack;

namespace Pinhole.Messaging;

/// <summary>Limits and buffer sizes of a <see cref="MessageSession"/>; every default is safe for untrusted peers.</summary>
public sealed class MessageSessionOptions
{
    /// <summary>Largest encoded message accepted or sent, in bytes (checked before buffering). Default 16 MiB.</summary>
    public int MaxMessageSize { get; set; } = 16 * 1024 * 1024;

    /// <summary>Decoded messages a Receiver buffers before it stops reading from the peer. Default 16.</summary>
    public int ReceiveCapacity { get; set; } = 16;

    /// <summary>Encoded bytes a Sender buffers before writes wait (back-pressure). Default 256 KiB.</summary>
    public int SendBufferSize { get; set; } = 256 * 1024;

    /// <summary>Attached channels and streams announced by one side but not yet matched by the other. Default 1024.</summary>
    public int MaxPendingAttachments { get; set; } = 1024;

    /// <summary>Top-level channels opened by the peer and not yet accepted. Default 64.</summary>
    public int MaxPendingChannels { get; set; } = 64;

    /// <summary>How long a peer may take to send the header of a new stream. Default 10 s.</summary>
    public TimeSpan StreamHeaderTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long an attachment may wait for its other half: the stream of a channel named in a message, or a
    /// message naming a stream that arrived. The waiting side then fails (or the stream is reset). Default 30 s.
    /// </summary>
    public TimeSpan AttachmentTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Limits for decoding messages (depth, lengths). Default <see cref="MessagePackReaderOptions.Default"/>.</summary>
    public MessagePackReaderOptions ReaderOptions { get; set; } = MessagePackReaderOptions.Default;

    /// <summary>Time source for timeouts. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Where protocol violations and session ends are logged. Default: nowhere.</summary>
    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;

    /// <summary>Checks every value; throws <see cref="ArgumentException"/> naming the bad one.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxMessageSize, 16, nameof(MaxMessageSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(ReceiveCapacity, 1, nameof(ReceiveCapacity));
        ArgumentOutOfRangeException.ThrowIfLessThan(SendBufferSize, 1024, nameof(SendBufferSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxPendingAttachments, 1, nameof(MaxPendingAttachments));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxPendingChannels, 1, nameof(MaxPendingChannels));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(StreamHeaderTimeout, TimeSpan.Zero, nameof(StreamHeaderTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(AttachmentTimeout, TimeSpan.Zero, nameof(AttachmentTimeout));
        ArgumentNullException.ThrowIfNull(ReaderOptions);
        ArgumentNullException.ThrowIfNull(TimeProvider);
        ArgumentNullException.ThrowIfNull(LoggerFactory);
    }
}
