namespace Pinhole.Core.Tests.Interop;

/// <summary>A <see cref="TheoryAttribute"/> that skips, with the reason, when js-libp2p is not installed.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class JsLibp2pTheoryAttribute : TheoryAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> when the js peer cannot run.</summary>
    public JsLibp2pTheoryAttribute()
    {
        if (JsLibp2pPeer.SkipReason is { } reason)
        {
            Skip = reason;
        }
    }
}
