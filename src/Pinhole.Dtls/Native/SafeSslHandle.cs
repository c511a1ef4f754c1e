using Microsoft.Win32.SafeHandles;

namespace Pinhole.Dtls.Native;

/// <summary>Owns one OpenSSL <c>SSL*</c>; released exactly once.</summary>
internal sealed class SafeSslHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    /// <summary>Used by the P/Invoke marshaller.</summary>
    public SafeSslHandle() : base(ownsHandle: true) { }

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        LibSsl.SSL_free(handle);
        return true;
    }
}
