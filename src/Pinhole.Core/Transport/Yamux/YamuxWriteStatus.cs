namespace Pinhole.Transport.Yamux;

/// <summary>Outcome of queueing a data frame on the <see cref="YamuxFrameWriter"/>.</summary>
internal enum YamuxWriteStatus
{
    /// <summary>The frame is queued.</summary>
    Written,
    /// <summary>The queue is at its limit; wait with <see cref="YamuxFrameWriter.WaitForSpaceAsync"/> and retry.</summary>
    Full,
    /// <summary>The writer is closed (the session is ending).</summary>
    Closed,
}
