using Microsoft.Win32.SafeHandles;

namespace Pinhole.Dtls.Native;

/// <summary>Owns one OpenSSL <c>X509*</c>; released exactly once.</summary>
internal sealed class SafeX509Handle : SafeHandleZeroOrMinusOneIsInvalid
{
    /// <summary>Used by the P/Invoke marshaller.</summary>
    public SafeX509Handle() : base(ownsHandle: true) { }

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        LibCrypto.X509_free(handle);
        return true;
    }
}
