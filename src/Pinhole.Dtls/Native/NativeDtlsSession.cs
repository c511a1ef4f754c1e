using System.Runtime.InteropServices;

namespace Pinhole.Dtls.Native;

/// <summary>
/// One SSL object with a memory BIO in each direction: datagrams go in with <see cref="FeedDatagram"/>,
/// records come out with <see cref="ReadOutput"/>. Not thread-safe: the owner serialises all calls and
/// disposes it once, under its lock. The BIOs belong to the SSL object (SSL_set_bio) and die with it.
/// </summary>
internal sealed unsafe partial class NativeDtlsSession : IDisposable
{
    private readonly SafeSslHandle _ssl;
    private readonly nint _rbio;
    private readonly nint _wbio;

    private NativeDtlsSession(SafeSslHandle ssl, nint rbio, nint wbio)
    {
        _ssl = ssl;
        _rbio = rbio;
        _wbio = wbio;
    }

    /// <summary>Creates an SSL object on <paramref name="context"/> with two fresh memory BIOs.</summary>
    /// <param name="context">The shared SSL_CTX.</param>
    /// <param name="mtu">Largest datagram OpenSSL may produce (UDP payload bytes).</param>
    internal static NativeDtlsSession Create(NativeDtlsContext context, int mtu)
    {
        LibCrypto.ERR_clear_error();
        SafeSslHandle ssl = LibSsl.SSL_new(context.Handle);
        if (ssl.IsInvalid)
        {
            ssl.Dispose();
            OpenSslError.ThrowIf(true, "SSL_new");
        }
        SafeBioHandle? rbio = null;
        SafeBioHandle? wbio = null;
        try
        {
            rbio = LibCrypto.BIO_new(LibCrypto.BIO_s_mem());
            OpenSslError.ThrowIf(rbio.IsInvalid, "BIO_new(BIO_s_mem())");
            wbio = LibCrypto.BIO_new(LibCrypto.BIO_s_mem());
            OpenSslError.ThrowIf(wbio.IsInvalid, "BIO_new(BIO_s_mem())");
            nint r = rbio.DangerousGetHandle();
            nint w = wbio.DangerousGetHandle();
            // An empty memory BIO must read as "retry", not EOF (-1 is OpenSSL's default; be explicit).
            LibCrypto.BIO_ctrl(r, LibCrypto.BioCtrlSetBufMemEofReturn, -1, 0);
            LibCrypto.BIO_ctrl(w, LibCrypto.BioCtrlSetBufMemEofReturn, -1, 0);
            LibSsl.SSL_set_bio(ssl, r, w);
            // Ownership moved to the SSL object: our handles must never free them.
            rbio.SetHandleAsInvalid();
            wbio.SetHandleAsInvalid();
            OpenSslError.ThrowIf(LibSsl.SSL_ctrl(ssl, LibSsl.CtrlSetMtu, mtu, 0) <= 0, $"SSL_set_mtu({mtu})");
            LibSsl.DTLS_set_timer_cb(ssl, DtlsCallbacks.Timer);
            return new NativeDtlsSession(ssl, r, w);
        }
        catch
        {
            rbio?.Dispose();
            wbio?.Dispose();
            ssl.Dispose();
            throw;
        }
    }

    /// <summary>True once disposed.</summary>
    internal bool IsDisposed => _ssl.IsClosed;

    /// <summary>Turns on the stateful cookie exchange (needed before <see cref="Listen"/>).</summary>
    internal void EnableCookieExchange() => LibSsl.SSL_set_options(_ssl, LibSsl.OpCookieExchange);

    /// <summary>Client role.</summary>
    internal void SetConnectState() => LibSsl.SSL_set_connect_state(_ssl);

    /// <summary>Server role.</summary>
    internal void SetAcceptState() => LibSsl.SSL_set_accept_state(_ssl);

    /// <summary>Queues one received datagram for OpenSSL.</summary>
    internal void FeedDatagram(ReadOnlySpan<byte> datagram)
    {
        if (datagram.IsEmpty)
        {
            return;
        }
        fixed (byte* p = datagram)
        {
            OpenSslError.ThrowIf(LibCrypto.BIO_write(_rbio, p, datagram.Length) != datagram.Length, "BIO_write");
        }
    }

    /// <summary>Discards whatever OpenSSL left unread in the input BIO (e.g. a rejected ClientHello).</summary>
    internal void DiscardInput()
    {
        Span<byte> scratch = stackalloc byte[512];
        fixed (byte* p = scratch)
        {
            // Bounded: each read removes up to 512 bytes; the BIO holds at most one datagram.
            for (int i = 0; i < 256 && LibCrypto.BIO_ctrl_pending(_rbio) > 0; i++)
            {
                _ = LibCrypto.BIO_read(_rbio, p, scratch.Length);
            }
        }
    }

    /// <summary>Bytes of records OpenSSL has produced and we have not taken yet.</summary>
    internal int PendingOutput => (int)LibCrypto.BIO_ctrl_pending(_wbio);

    /// <summary>Takes up to <paramref name="buffer"/>.Length bytes of produced records.</summary>
    internal int ReadOutput(Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            int n = LibCrypto.BIO_read(_wbio, p, buffer.Length);
            return n < 0 ? 0 : n;
        }
    }

    /// <summary>Advances the handshake.</summary>
    internal SslStatus Handshake(out string? error)
    {
        int ret = LibSsl.SSL_do_handshake(_ssl);
        if (ret == 1)
        {
            error = null;
            return SslStatus.Ok;
        }
        return Map(ret, out error);
    }

    /// <summary>Decrypts the next application record into <paramref name="buffer"/>.</summary>
    internal SslStatus Read(Span<byte> buffer, out int read, out string? error)
    {
        fixed (byte* p = buffer)
        {
            int ret = LibSsl.SSL_read(_ssl, p, buffer.Length);
            if (ret > 0)
            {
                read = ret;
                error = null;
                return SslStatus.Ok;
            }
            read = 0;
            return Map(ret, out error);
        }
    }

    /// <summary>Encrypts one application record (one datagram).</summary>
    internal SslStatus Write(ReadOnlySpan<byte> data, out string? error)
    {
        fixed (byte* p = data)
        {
            int ret = LibSsl.SSL_write(_ssl, p, data.Length);
            if (ret == data.Length)
            {
                error = null;
                return SslStatus.Ok;
            }
            if (ret > 0)
            {
                error = $"SSL_write wrote {ret} of {data.Length} bytes";
                return SslStatus.Failed;
            }
            return Map(ret, out error);
        }
    }

    /// <summary>True if OpenSSL holds records it has not returned yet.</summary>
    internal bool HasPending => LibSsl.SSL_has_pending(_ssl) == 1;

    /// <summary>True once the handshake has completed.</summary>
    internal bool IsHandshakeDone => LibSsl.SSL_is_init_finished(_ssl) == 1;

    /// <summary>Largest application payload one record (one datagram of the configured MTU) can carry.</summary>
    internal int DataMtu => (int)LibSsl.DTLS_get_data_mtu(_ssl);

    /// <summary>Time until OpenSSL wants <see cref="HandleTimeout"/>, or null if no retransmission timer runs.</summary>
    internal TimeSpan? GetTimeout()
    {
        TimeVal tv;
        if (LibSsl.SSL_ctrl(_ssl, LibSsl.CtrlGetTimeout, 0, (nint)(&tv)) != 1)
        {
            return null;
        }
        return TimeSpan.FromTicks(tv.Seconds * TimeSpan.TicksPerSecond + tv.Microseconds * TimeSpan.TicksPerMicrosecond);
    }

    /// <summary>Retransmits the last flight if its timer expired: 1 if it did, 0 if not due, -1 if it gave up.</summary>
    internal int HandleTimeout() => (int)LibSsl.SSL_ctrl(_ssl, LibSsl.CtrlHandleTimeout, 0, 0);

    /// <summary>Queues close_notify (once); the caller flushes it with <see cref="ReadOutput"/>.</summary>
    internal void Shutdown()
    {
        _ = LibSsl.SSL_shutdown(_ssl);
        LibCrypto.ERR_clear_error();
    }

    /// <summary>DTLSv1_listen on the queued datagram: 1 = cookie verified, 0 = answered or dropped, &lt;0 = error.</summary>
    internal int Listen(SafeBioAddrHandle client) => LibSsl.DTLSv1_listen(_ssl, client);

    /// <summary>Negotiated cipher suite name, for logs and tests.</summary>
    internal string? CipherName
    {
        get
        {
            nint cipher = LibSsl.SSL_get_current_cipher(_ssl);
            return cipher == 0 ? null : Marshal.PtrToStringUTF8(LibSsl.SSL_CIPHER_get_name(cipher));
        }
    }

    private SslStatus Map(int ret, out string? error)
    {
        int code = LibSsl.SSL_get_error(_ssl, ret);
        switch (code)
        {
            case LibSsl.ErrorWantRead:
            case LibSsl.ErrorWantWrite:
                error = null;
                return SslStatus.WantRead;
            case LibSsl.ErrorZeroReturn:
                error = null;
                return SslStatus.Closed;
            default:
                error = OpenSslError.Drain($"SSL_get_error returned {code}");
                return SslStatus.Failed;
        }
    }

    /// <inheritdoc />
    public void Dispose() => _ssl.Dispose();

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeVal
    {
        public long Seconds;
        public long Microseconds;
    }
}
