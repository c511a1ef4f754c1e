namespace Pinhole.Core.Tests.Interop;

/// <summary>
/// A <see cref="FactAttribute"/> that skips the test, with the reason, when js-libp2p and Node 22 are
/// not installed in tests/npm/libp2p (scripts/setup-test-deps.sh installs them).
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class JsLibp2pFactAttribute : FactAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> when the js peer cannot run.</summary>
    public JsLibp2pFactAttribute()
    {
        if (JsLibp2pPeer.SkipReason is { } reason)
        {
            Skip = reason;
        }
    }
}
