namespace Pinhole.Messaging.Internal;

/// <summary>
/// Given to codecs as <c>MessagePackWriter.State</c> while a message for a peer is encoded: channels and
/// streams found in the message are collected here, and their streams are opened before the message is sent.
/// </summary>
internal sealed class EncodeContext(MessageSession session)
{
    private readonly List<(ulong Id, Action<Task<PeerStream>> Start)> _attachments = [];

    public MessageSession Session { get; } = session;

    /// <summary>Nerdbank's starting context carrying this object, made once per sender (setting state allocates).</summary>
    public Shaped.ShapedContext? ShapedContext { get; set; }

    public int Count => _attachments.Count;

    /// <summary>Reserves an id for an attachment; <paramref name="start"/> runs with its stream once opened.</summary>
    public ulong Add(Action<Task<PeerStream>> start)
    {
        ulong id = Session.NextAttachmentId();
        _attachments.Add((id, start));
        return id;
    }

    public (ulong Id, Action<Task<PeerStream>> Start)[] Take()
    {
        var taken = _attachments.ToArray();
        _attachments.Clear();
        return taken;
    }

    public void Clear() => _attachments.Clear();
}
