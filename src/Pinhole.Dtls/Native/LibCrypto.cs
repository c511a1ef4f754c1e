using System.Runtime.InteropServices;

namespace Pinhole.Dtls.Native;

/// <summary>P/Invoke declarations for libcrypto.so.3: BIOs, X509, keys and the error queue.</summary>
internal static unsafe partial class LibCrypto
{
    internal const string Name = "libcrypto.so.3";

    [LibraryImport(Name)] internal static partial nint BIO_s_mem();
    [LibraryImport(Name)] internal static partial SafeBioHandle BIO_new(nint method);
    [LibraryImport(Name)] internal static partial int BIO_free(nint bio);
    [LibraryImport(Name)] internal static partial int BIO_read(nint bio, byte* buffer, int length);
    [LibraryImport(Name)] internal static partial int BIO_write(nint bio, byte* buffer, int length);
    [LibraryImport(Name)] internal static partial nint BIO_ctrl(nint bio, int cmd, nint larg, nint parg);
    [LibraryImport(Name)] internal static partial nuint BIO_ctrl_pending(nint bio);
    [LibraryImport(Name)] internal static partial SafeBioAddrHandle BIO_ADDR_new();
    [LibraryImport(Name)] internal static partial void BIO_ADDR_free(nint address);

    [LibraryImport(Name)] internal static partial SafeX509Handle d2i_X509(nint reuse, byte** input, nint length);
    [LibraryImport(Name)] internal static partial int i2d_X509(nint x509, byte** output);
    [LibraryImport(Name)] internal static partial void X509_free(nint x509);
    [LibraryImport(Name)] internal static partial nint X509_STORE_CTX_get_current_cert(nint storeContext);
    [LibraryImport(Name)] internal static partial int X509_STORE_CTX_get_error_depth(nint storeContext);
    [LibraryImport(Name)] internal static partial void X509_STORE_CTX_set_error(nint storeContext, int error);

    /// <summary>X509_V_OK.</summary>
    internal const int X509VerifyOk = 0;

    /// <summary>X509_V_ERR_CERT_REJECTED: OpenSSL answers it with a bad_certificate alert.</summary>
    internal const int X509VerifyCertRejected = 28;

    [LibraryImport(Name)] internal static partial SafePKeyHandle d2i_AutoPrivateKey(nint reuse, byte** input, nint length);
    [LibraryImport(Name)] internal static partial void EVP_PKEY_free(nint pkey);

    [LibraryImport(Name)] internal static partial ulong ERR_get_error();
    [LibraryImport(Name)] internal static partial void ERR_clear_error();
    [LibraryImport(Name)] internal static partial void ERR_error_string_n(ulong error, byte* buffer, nuint length);

    internal const int BioCtrlSetBufMemEofReturn = 130;
}
