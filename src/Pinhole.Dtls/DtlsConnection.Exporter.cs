using System.Text;
using Pinhole.Dtls.Native;

namespace Pinhole.Dtls;

public sealed partial class DtlsConnection
{
    /// <summary>Longest output <see cref="ExportKeyingMaterial"/> produces.</summary>
    public const int MaxExportLength = 1024;

    /// <summary>
    /// Derives <paramref name="destination"/>.Length bytes of keying material from this session's master
    /// secret (RFC 5705, as DTLS-SRTP keys SRTP, RFC 5764 §4.2): both sides of one session get the same
    /// bytes for the same <paramref name="label"/> and <paramref name="context"/>, nobody else can. The
    /// label must start with "EXPORTER" (RFC 5705 §4) and must not be one of the labels TLS reserves.
    /// Throws <see cref="PeerException"/> (<see cref="PeerError.ConnectionClosed"/>) once the session is
    /// closed: export right after the handshake.
    /// </summary>
    public void ExportKeyingMaterial(string label, ReadOnlySpan<byte> context, Span<byte> destination)
    {
        ArgumentException.ThrowIfNullOrEmpty(label);
        if (!label.StartsWith("EXPORTER", StringComparison.Ordinal))
        {
            throw new ArgumentException("An exporter label must start with \"EXPORTER\" (RFC 5705 §4).", nameof(label));
        }
        if (destination.IsEmpty || destination.Length > MaxExportLength)
        {
            throw new ArgumentOutOfRangeException(nameof(destination), $"Export between 1 and {MaxExportLength} bytes.");
        }
        _session.Export(Encoding.ASCII.GetBytes(label), context, destination);
    }

    internal sealed partial class Session
    {
        internal void Export(ReadOnlySpan<byte> label, ReadOnlySpan<byte> context, Span<byte> destination)
        {
            lock (_lock)
            {
                if (_state != State.Established)
                {
                    throw new PeerException(PeerError.ConnectionClosed, $"The DTLS session with {_owner.RemoteEndPoint} is not established; nothing to export.");
                }
                LibCrypto.ERR_clear_error();
                if (!_native.ExportKeyingMaterial(label, context, destination))
                {
                    throw new PeerException(PeerError.InternalError, OpenSslError.Drain("SSL_export_keying_material failed"));
                }
            }
        }
    }
}
