namespace Pinhole.Dtls.Native;

internal sealed unsafe partial class NativeDtlsSession
{
    /// <summary>RFC 5705 exporter over the negotiated master secret; false if OpenSSL refuses.</summary>
    internal bool ExportKeyingMaterial(ReadOnlySpan<byte> label, ReadOnlySpan<byte> context, Span<byte> output)
    {
        fixed (byte* l = label)
        fixed (byte* c = context)
        fixed (byte* o = output)
        {
            return LibSsl.SSL_export_keying_material(_ssl, o, (nuint)output.Length, l, (nuint)label.Length, c, (nuint)context.Length, useContext: 1) == 1;
        }
    }
}
