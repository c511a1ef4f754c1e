namespace Pinhole.Dtls.Tests;

/// <summary>A fact that is skipped, saying why, when the openssl command is not installed.</summary>
public sealed class OpenSslFactAttribute : FactAttribute
{
    public OpenSslFactAttribute()
    {
        if (OpenSslTool.Path is null)
        {
            Skip = "the openssl command line tool is not installed (Debian package 'openssl')";
        }
    }
}
