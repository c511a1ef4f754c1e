using System.Runtime.InteropServices;

namespace Pinhole.Dtls.Native;

/// <summary>
/// P/Invoke declarations for libssl.so.3 (OpenSSL 3.x). Only what the DTLS layer needs; every pointer that
/// owns a native object is wrapped in a SafeHandle by the callers in this folder.
/// </summary>
internal static unsafe partial class LibSsl
{
    internal const string Name = "libssl.so.3";

    // Constants from openssl/ssl.h, openssl/prov_ssl.h.
    internal const int Dtls12Version = 0xFEFD;
    internal const ulong OpNoQueryMtu = 1UL << 12;
    internal const ulong OpCookieExchange = 1UL << 13;
    internal const ulong OpNoTicket = 1UL << 14;
    internal const ulong OpNoRenegotiation = 1UL << 30;
    internal const int VerifyPeer = 0x01;
    internal const int VerifyFailIfNoPeerCert = 0x02;
    internal const int CtrlSetMtu = 17;
    internal const int CtrlGetTimeout = 73;
    internal const int CtrlHandleTimeout = 74;
    internal const int CtrlSetMinProtoVersion = 123;
    internal const int CtrlSetMaxProtoVersion = 124;

    internal const int ErrorNone = 0;
    internal const int ErrorSsl = 1;
    internal const int ErrorWantRead = 2;
    internal const int ErrorWantWrite = 3;
    internal const int ErrorSyscall = 5;
    internal const int ErrorZeroReturn = 6;

    [LibraryImport(Name)] internal static partial nint DTLS_method();
    [LibraryImport(Name)] internal static partial SafeSslContextHandle SSL_CTX_new(nint method);
    [LibraryImport(Name)] internal static partial void SSL_CTX_free(nint ctx);
    [LibraryImport(Name)] internal static partial nint SSL_CTX_ctrl(SafeSslContextHandle ctx, int cmd, nint larg, nint parg);
    [LibraryImport(Name)] internal static partial ulong SSL_CTX_set_options(SafeSslContextHandle ctx, ulong options);
    [LibraryImport(Name, StringMarshalling = StringMarshalling.Utf8)] internal static partial int SSL_CTX_set_cipher_list(SafeSslContextHandle ctx, string ciphers);
    [LibraryImport(Name)] internal static partial int SSL_CTX_use_certificate(SafeSslContextHandle ctx, SafeX509Handle x509);
    [LibraryImport(Name)] internal static partial int SSL_CTX_use_PrivateKey(SafeSslContextHandle ctx, SafePKeyHandle pkey);
    [LibraryImport(Name)] internal static partial int SSL_CTX_check_private_key(SafeSslContextHandle ctx);
    [LibraryImport(Name)] internal static partial void SSL_CTX_set_verify(SafeSslContextHandle ctx, int mode, delegate* unmanaged<int, nint, int> callback);
    [LibraryImport(Name)] internal static partial void SSL_CTX_set_cookie_generate_cb(SafeSslContextHandle ctx, delegate* unmanaged<nint, byte*, uint*, int> callback);
    [LibraryImport(Name)] internal static partial void SSL_CTX_set_cookie_verify_cb(SafeSslContextHandle ctx, delegate* unmanaged<nint, byte*, uint, int> callback);

    [LibraryImport(Name)] internal static partial SafeSslHandle SSL_new(SafeSslContextHandle ctx);
    [LibraryImport(Name)] internal static partial void SSL_free(nint ssl);
    [LibraryImport(Name)] internal static partial void SSL_set_bio(SafeSslHandle ssl, nint rbio, nint wbio);
    [LibraryImport(Name)] internal static partial void SSL_set_connect_state(SafeSslHandle ssl);
    [LibraryImport(Name)] internal static partial void SSL_set_accept_state(SafeSslHandle ssl);
    [LibraryImport(Name)] internal static partial ulong SSL_set_options(SafeSslHandle ssl, ulong options);
    [LibraryImport(Name)] internal static partial nint SSL_ctrl(SafeSslHandle ssl, int cmd, nint larg, nint parg);
    [LibraryImport(Name)] internal static partial int SSL_do_handshake(SafeSslHandle ssl);
    [LibraryImport(Name)] internal static partial int SSL_read(SafeSslHandle ssl, byte* buffer, int length);
    [LibraryImport(Name)] internal static partial int SSL_write(SafeSslHandle ssl, byte* buffer, int length);
    [LibraryImport(Name)] internal static partial int SSL_get_error(SafeSslHandle ssl, int ret);
    [LibraryImport(Name)] internal static partial int SSL_shutdown(SafeSslHandle ssl);
    [LibraryImport(Name)] internal static partial int SSL_has_pending(SafeSslHandle ssl);
    [LibraryImport(Name)] internal static partial int SSL_is_init_finished(SafeSslHandle ssl);
    [LibraryImport(Name)] internal static partial SafeX509Handle SSL_get1_peer_certificate(SafeSslHandle ssl);
    [LibraryImport(Name)] internal static partial nuint DTLS_get_data_mtu(SafeSslHandle ssl);
    [LibraryImport(Name)] internal static partial void DTLS_set_timer_cb(SafeSslHandle ssl, delegate* unmanaged<nint, uint, uint> callback);
    [LibraryImport(Name)] internal static partial int DTLSv1_listen(SafeSslHandle ssl, SafeBioAddrHandle client);
    [LibraryImport(Name)] internal static partial nint SSL_get_version(SafeSslHandle ssl);
    [LibraryImport(Name)] internal static partial nint SSL_get_cipher_list(SafeSslHandle ssl, int priority);
    [LibraryImport(Name)] internal static partial nint SSL_get_current_cipher(SafeSslHandle ssl);
    [LibraryImport(Name)] internal static partial nint SSL_CIPHER_get_name(nint cipher);
}
