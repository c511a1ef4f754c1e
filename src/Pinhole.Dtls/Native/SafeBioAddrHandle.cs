using Microsoft.Win32.SafeHandles;

namespace Pinhole.Dtls.Native;

/// <summary>Owns one OpenSSL <c>BIO_ADDR*</c>; released exactly once.</summary>
internal sealed class SafeBioAddrHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    /// <summary>Used by the P/Invoke marshaller.</summary>
    public SafeBioAddrHandle() : base(ownsHandle: true) { }

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        LibCrypto.BIO_ADDR_free(handle);
        return true;
    }
}
