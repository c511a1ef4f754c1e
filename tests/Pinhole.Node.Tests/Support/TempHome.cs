namespace Pinhole.Node.Tests;

/// <summary>A private temporary directory (short path: Unix socket addresses hold 107 bytes), deleted on dispose.</summary>
public sealed class TempHome : IDisposable
{
    public TempHome()
    {
        Path = System.IO.Path.Combine("/tmp", "ph-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
