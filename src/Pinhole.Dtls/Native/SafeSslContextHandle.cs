using Microsoft.Win32.SafeHandles;

namespace Pinhole.Dtls.Native;

/// <summary>Owns one OpenSSL <c>SSL_CTX*</c>; released exactly once.</summary>
internal sealed class SafeSslContextHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    /// <summary>Used by the P/Invoke marshaller.</summary>
    public SafeSslContextHandle() : base(ownsHandle: true) { }

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        LibSsl.SSL_CTX_free(handle);
        return true;
    }
}
