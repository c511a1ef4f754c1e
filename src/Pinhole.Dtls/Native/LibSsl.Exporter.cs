using System.Runtime.InteropServices;

namespace Pinhole.Dtls.Native;

internal static unsafe partial class LibSsl
{
    /// <summary>RFC 5705 keying material exporter (SSL_export_keying_material(3)); 1 on success.</summary>
    [LibraryImport(Name)]
    internal static partial int SSL_export_keying_material(SafeSslHandle ssl, byte* output, nuint outputLength, byte* label, nuint labelLength, byte* context, nuint contextLength, int useContext);
}
