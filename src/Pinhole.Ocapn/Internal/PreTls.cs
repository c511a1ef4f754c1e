using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Pinhole.Ocapn.Internal;

/// <summary>
/// The bytes a <c>tcp-tls</c> listener writes right after accepting TCP, before any TLS record
/// (read from goblins/ocapn/netlayer/tcp-tls.scm, make-server-tls-port):
/// <code>
///  0       1       2       3       4
/// +-------+-------+-------+-------+----------------------------------------+
/// |  L: PEM length, u32, native   |  L bytes: the certificate PEM text     |
/// |  byte order = little-endian   |  "-----BEGIN CERTIFICATE-----\n..."    |
/// +-------+-------+-------+-------+----------------------------------------+
/// </code>
/// Goblins writes the length with <c>u32vector</c>, i.e. in the host's byte order; every platform Goblins runs on
/// in practice (x86-64, aarch64) is little-endian, so Pinhole always writes and reads little-endian.
/// Pinhole extension: L = 0 means "refused" and is followed by at most <see cref="MaxReasonLength"/> bytes of
/// UTF-8 reason text and end of stream. A Goblins dialer reads it as a certificate hash mismatch and gives up.
/// </summary>
internal static class PreTls
{
    internal const int LengthSize = 4;
    internal const int MaxReasonLength = 255;

    /// <summary>How many PEM bytes to inspect before reading the rest, so that binary garbage is refused at once.</summary>
    internal const int SniffLength = 64;

    internal static byte[] Header(ReadOnlySpan<byte> pem)
    {
        var bytes = new byte[LengthSize + pem.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, (uint)pem.Length);
        pem.CopyTo(bytes.AsSpan(LengthSize));
        return bytes;
    }

    internal static byte[] Refusal(string reason)
    {
        var text = Encoding.UTF8.GetBytes(reason);
        var length = Math.Min(text.Length, MaxReasonLength);
        var bytes = new byte[LengthSize + length];
        text.AsSpan(0, length).CopyTo(bytes.AsSpan(LengthSize));
        return bytes;
    }

    internal static uint ReadLength(ReadOnlySpan<byte> header) => BinaryPrimitives.ReadUInt32LittleEndian(header);

    /// <summary>Null when <paramref name="length"/> is acceptable (1..max); else why not, naming the raw bytes.</summary>
    internal static string? CheckLength(uint length, int max, ReadOnlySpan<byte> header)
    {
        if (length <= (uint)max)
        {
            return null;
        }
        var hint = header[0] == 0x16 ? " (it looks like a TLS record: the listener did not send its certificate first)"
            : BinaryPrimitives.ReadUInt32BigEndian(header) <= (uint)max ? " (it would fit read big-endian: a big-endian Goblins host?)"
            : "";
        return $"the listener announced a {length}-byte certificate (bytes {Convert.ToHexStringLower(header)}), over the limit of {max} bytes{hint}; it is not an OCapN tcp-tls listener";
    }

    /// <summary>PEM is ASCII text: printable characters, tab, CR and LF. Anything else is refused at once.</summary>
    internal static bool LooksLikePem(ReadOnlySpan<byte> text, out int badOffset)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var b = text[i];
            if (!(b is >= 0x20 and < 0x7f || b is (byte)'\n' or (byte)'\r' or (byte)'\t'))
            {
                badOffset = i;
                return false;
            }
        }
        badOffset = -1;
        return true;
    }

    /// <summary>The DER of the first CERTIFICATE block in <paramref name="pem"/>; null and why if there is none.</summary>
    internal static byte[]? ExtractCertificate(ReadOnlySpan<byte> pem, out string? error)
    {
        var chars = Encoding.ASCII.GetString(pem).AsSpan();
        while (PemEncoding.TryFind(chars, out var fields))
        {
            if (chars[fields.Label].SequenceEqual("CERTIFICATE"))
            {
                var der = new byte[fields.DecodedDataLength];
                if (Convert.TryFromBase64Chars(chars[fields.Base64Data], der, out var written))
                {
                    error = null;
                    return der.AsSpan(0, written).ToArray();
                }
            }
            chars = chars[fields.Location.End..];
        }
        error = "the listener's PEM has no CERTIFICATE block";
        return null;
    }
}
