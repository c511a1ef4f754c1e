using System.Text;

namespace Pinhole.Dtls.Native;

/// <summary>Drains OpenSSL's per-thread error queue into exception messages.</summary>
internal static unsafe class OpenSslError
{
    /// <summary>
    /// Removes every queued error and joins their texts (oldest first), e.g.
    /// "error:0A000086:SSL routines::certificate verify failed". Returns <paramref name="fallback"/> if empty.
    /// </summary>
    internal static string Drain(string fallback)
    {
        StringBuilder? text = null;
        byte* buffer = stackalloc byte[256];
        // Bounded: the queue holds at most 16 entries, but never trust a loop on native state.
        for (int i = 0; i < 32; i++)
        {
            ulong code = LibCrypto.ERR_get_error();
            if (code == 0)
            {
                break;
            }
            LibCrypto.ERR_error_string_n(code, buffer, 256);
            text ??= new StringBuilder();
            if (text.Length > 0)
            {
                text.Append("; ");
            }
            text.Append(new string((sbyte*)buffer));
        }
        return text?.ToString() ?? fallback;
    }

    /// <summary>Throws <see cref="OpenSslException"/> with the drained queue if <paramref name="failed"/> is true.</summary>
    internal static void ThrowIf(bool failed, string operation)
    {
        if (failed)
        {
            throw new OpenSslException($"{operation} failed: {Drain("no OpenSSL error queued")}");
        }
    }
}
