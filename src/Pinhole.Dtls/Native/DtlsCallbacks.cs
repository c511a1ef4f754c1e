using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Pinhole.Dtls.Native;

/// <summary>
/// The static entry points OpenSSL calls back into. OpenSSL runs callbacks synchronously on the thread that
/// called SSL_do_handshake/SSL_read/DTLSv1_listen, so the managed target is found in a thread-static slot
/// that <see cref="Enter"/> sets around every native call: no GCHandles or ex_data indexes to leak.
/// </summary>
internal static unsafe class DtlsCallbacks
{
    [ThreadStatic]
    private static IDtlsCallbackTarget? t_current;

    /// <summary>Makes <paramref name="target"/> receive callbacks on this thread until the scope is disposed.</summary>
    internal static Scope Enter(IDtlsCallbackTarget target)
    {
        IDtlsCallbackTarget? previous = t_current;
        t_current = target;
        return new Scope(previous);
    }

    /// <summary>Restores the previous target.</summary>
    internal readonly ref struct Scope
    {
        private readonly IDtlsCallbackTarget? _previous;

        internal Scope(IDtlsCallbackTarget? previous) => _previous = previous;

        /// <summary>Restores the previous target.</summary>
        public void Dispose() => t_current = _previous;
    }

    internal static delegate* unmanaged<int, nint, int> Verify => &OnVerify;
    internal static delegate* unmanaged<nint, byte*, uint*, int> GenerateCookie => &OnGenerateCookie;
    internal static delegate* unmanaged<nint, byte*, uint, int> VerifyCookie => &OnVerifyCookie;
    internal static delegate* unmanaged<nint, uint, uint> Timer => &OnTimer;

    // OpenSSL's DTLS1_COOKIE_LENGTH (255) bounds the cookie buffer it hands us.
    private const int MaxCookieLength = 255;

    [UnmanagedCallersOnly]
    private static int OnVerify(int preverifyOk, nint storeContext)
    {
        try
        {
            // Self-signed certificates always fail OpenSSL's chain check; the leaf alone decides, in managed code.
            if (LibCrypto.X509_STORE_CTX_get_error_depth(storeContext) != 0)
            {
                return 1;
            }
            IDtlsCallbackTarget? target = t_current;
            nint cert = LibCrypto.X509_STORE_CTX_get_current_cert(storeContext);
            if (target is null || cert == 0)
            {
                return 0;
            }
            int length = LibCrypto.i2d_X509(cert, null);
            if (length <= 0 || length > 64 * 1024)
            {
                return 0;
            }
            byte[] der = new byte[length];
            fixed (byte* p = der)
            {
                byte* cursor = p;
                if (LibCrypto.i2d_X509(cert, &cursor) != length)
                {
                    return 0;
                }
            }
            bool ok = target.VerifyPeerCertificate(der);
            // Our verdict replaces OpenSSL's (which is always "self-signed"); a refusal becomes bad_certificate.
            LibCrypto.X509_STORE_CTX_set_error(storeContext, ok ? LibCrypto.X509VerifyOk : LibCrypto.X509VerifyCertRejected);
            return ok ? 1 : 0;
        }
        catch (Exception)
        {
            return 0;
        }
    }

    [UnmanagedCallersOnly]
    private static int OnGenerateCookie(nint ssl, byte* cookie, uint* length)
    {
        try
        {
            IDtlsCallbackTarget? target = t_current;
            int n = target?.GenerateCookie(new Span<byte>(cookie, MaxCookieLength)) ?? -1;
            if (n <= 0)
            {
                return 0;
            }
            *length = (uint)n;
            return 1;
        }
        catch (Exception)
        {
            return 0;
        }
    }

    [UnmanagedCallersOnly]
    private static int OnVerifyCookie(nint ssl, byte* cookie, uint length)
    {
        try
        {
            if (length > MaxCookieLength)
            {
                return 0;
            }
            return t_current?.VerifyCookie(new ReadOnlySpan<byte>(cookie, (int)length)) == true ? 1 : 0;
        }
        catch (Exception)
        {
            return 0;
        }
    }

    [UnmanagedCallersOnly]
    private static uint OnTimer(nint ssl, uint previousMicroseconds)
    {
        try
        {
            return t_current?.NextRetransmitTimeout(previousMicroseconds) ?? Fallback(previousMicroseconds);
        }
        catch (Exception)
        {
            return Fallback(previousMicroseconds);
        }
    }

    // OpenSSL's own policy: 1 s, doubling, at most 60 s.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Fallback(uint previous) => previous == 0 ? 1_000_000u : Math.Min(previous * 2, 60_000_000u);
}
