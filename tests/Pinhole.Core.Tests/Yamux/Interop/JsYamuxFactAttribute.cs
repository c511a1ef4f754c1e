namespace Pinhole.Core.Tests.Yamux.Interop;

/// <summary>A fact that is skipped, with the reason, when the js yamux peer cannot run here.</summary>
public sealed class JsYamuxFactAttribute : FactAttribute
{
    public JsYamuxFactAttribute()
    {
        if (JsYamuxPeer.Unavailable is { } reason)
        {
            Skip = $"js-libp2p yamux interop skipped: {reason}.";
        }
    }
}
