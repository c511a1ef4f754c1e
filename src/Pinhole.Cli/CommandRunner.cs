using System.Security.Cryptography;

namespace Pinhole.Cli;

/// <summary>Runs a command body and turns every failure into one line on stderr and a documented exit code.</summary>
internal static class CommandRunner
{
    public static async Task<int> RunAsync(Func<CancellationToken, Task<int>> body, CancellationToken cancellationToken)
    {
        try
        {
            return await body(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return ExitCodes.Interrupted;
        }
        catch (PeerException e)
        {
            return Fail(e.Message, ExitCodes.For(e.Error));
        }
        catch (Exception e) when (e is UnauthorizedAccessException or CryptographicException)
        {
            return Fail(e.Message, ExitCodes.LocalIdentity);
        }
        catch (FormatException e)
        {
            return Fail(e.Message, ExitCodes.Usage);
        }
        catch (ArgumentException e)
        {
            // The "(Parameter 'X')" suffix names a C# property, not anything the user typed.
            var message = e.ParamName is null ? e.Message : e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal);
            return Fail(message, ExitCodes.Usage);
        }
        catch (IOException e)
        {
            return Fail(e.Message, ExitCodes.Failure);
        }
    }

    public static int Fail(string message, int code)
    {
        // One line, so scripts can capture it.
        Console.Error.WriteLine("pinhole: error: " + message.ReplaceLineEndings(" "));
        return code;
    }
}
