using Microsoft.Win32.SafeHandles;

namespace Pinhole.Dtls.Native;

/// <summary>Owns one OpenSSL <c>BIO*</c>; released exactly once.</summary>
internal sealed class SafeBioHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    /// <summary>Used by the P/Invoke marshaller.</summary>
    public SafeBioHandle() : base(ownsHandle: true) { }

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        _ = LibCrypto.BIO_free(handle);
        return true;
    }
}
