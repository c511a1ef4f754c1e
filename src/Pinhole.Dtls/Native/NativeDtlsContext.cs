using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Pinhole.Dtls.Native;

/// <summary>
/// One SSL_CTX for both roles: DTLS 1.2 only, ECDHE-ECDSA AEAD suites, our certificate and key, peer
/// certificate required and checked in managed code, cookie callbacks, no tickets, no renegotiation.
/// </summary>
internal sealed unsafe class NativeDtlsContext : IDisposable
{
    // Our certificates are ECDSA P-256; AEAD suites only (no CBC: no Lucky13-style padding oracles).
    internal const string CipherList =
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305";

    private readonly SafeSslContextHandle _ctx;

    private NativeDtlsContext(SafeSslContextHandle ctx) => _ctx = ctx;

    internal SafeSslContextHandle Handle => _ctx;

    /// <summary>Creates the context presenting <paramref name="certificate"/> (which must hold an ECDSA private key).</summary>
    internal static NativeDtlsContext Create(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        using ECDsa? key = certificate.GetECDsaPrivateKey();
        if (key is null)
        {
            throw new ArgumentException("The certificate must carry an ECDSA private key.", nameof(certificate));
        }

        LibCrypto.ERR_clear_error();
        SafeSslContextHandle ctx = LibSsl.SSL_CTX_new(LibSsl.DTLS_method());
        if (ctx.IsInvalid)
        {
            ctx.Dispose();
            OpenSslError.ThrowIf(true, "SSL_CTX_new(DTLS_method())");
        }
        try
        {
            OpenSslError.ThrowIf(LibSsl.SSL_CTX_ctrl(ctx, LibSsl.CtrlSetMinProtoVersion, LibSsl.Dtls12Version, 0) != 1, "set min DTLS version");
            OpenSslError.ThrowIf(LibSsl.SSL_CTX_ctrl(ctx, LibSsl.CtrlSetMaxProtoVersion, LibSsl.Dtls12Version, 0) != 1, "set max DTLS version");
            LibSsl.SSL_CTX_set_options(ctx, LibSsl.OpNoQueryMtu | LibSsl.OpNoTicket | LibSsl.OpNoRenegotiation);
            OpenSslError.ThrowIf(LibSsl.SSL_CTX_set_cipher_list(ctx, CipherList) != 1, "SSL_CTX_set_cipher_list");

            byte[] certDer = certificate.RawData;
            fixed (byte* p = certDer)
            {
                byte* cursor = p;
                using SafeX509Handle x509 = LibCrypto.d2i_X509(0, &cursor, certDer.Length);
                OpenSslError.ThrowIf(x509.IsInvalid, "d2i_X509");
                OpenSslError.ThrowIf(LibSsl.SSL_CTX_use_certificate(ctx, x509) != 1, "SSL_CTX_use_certificate");
            }

            byte[] keyDer = key.ExportPkcs8PrivateKey();
            try
            {
                fixed (byte* p = keyDer)
                {
                    byte* cursor = p;
                    using SafePKeyHandle pkey = LibCrypto.d2i_AutoPrivateKey(0, &cursor, keyDer.Length);
                    OpenSslError.ThrowIf(pkey.IsInvalid, "d2i_AutoPrivateKey");
                    OpenSslError.ThrowIf(LibSsl.SSL_CTX_use_PrivateKey(ctx, pkey) != 1, "SSL_CTX_use_PrivateKey");
                }
            }
            finally
            {
                CryptographicOperations.ZeroMemory(keyDer);
            }
            OpenSslError.ThrowIf(LibSsl.SSL_CTX_check_private_key(ctx) != 1, "SSL_CTX_check_private_key");

            LibSsl.SSL_CTX_set_verify(ctx, LibSsl.VerifyPeer | LibSsl.VerifyFailIfNoPeerCert, DtlsCallbacks.Verify);
            LibSsl.SSL_CTX_set_cookie_generate_cb(ctx, DtlsCallbacks.GenerateCookie);
            LibSsl.SSL_CTX_set_cookie_verify_cb(ctx, DtlsCallbacks.VerifyCookie);
            return new NativeDtlsContext(ctx);
        }
        catch
        {
            ctx.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public void Dispose() => _ctx.Dispose();
}
