namespace Pinhole.Cli.Commands;

/// <summary>netcat over an authenticated stream: raw bytes both ways, half-close by end of input.</summary>
internal static class CatProtocol
{
    public const string ProtocolId = "/pinhole/cat/1.0.0";

    /// <summary>stdin → stream (then half-close), stream → stdout, until both directions end.</summary>
    public static Task<int> PumpAsync(PeerStream stream, CancellationToken cancellationToken)
        => PumpAsync(stream, () =>
        {
            stream.CompleteWrites();
            return Task.CompletedTask;
        }, cancellationToken);

    /// <summary>The same over any stream; <paramref name="completeWrites"/> half-closes it (TLS: close_notify).</summary>
    public static async Task<int> PumpAsync(Stream stream, Func<Task> completeWrites, CancellationToken cancellationToken)
    {
        using var stdin = Console.OpenStandardInput();
        using var stdout = Console.OpenStandardOutput();
        var send = Task.Run(async () =>
        {
            await stdin.CopyToAsync(stream, cancellationToken).ConfigureAwait(false);
            await completeWrites().ConfigureAwait(false);
        }, cancellationToken);
        var receive = Task.Run(async () =>
        {
            await stream.CopyToAsync(stdout, cancellationToken).ConfigureAwait(false);
            await stdout.FlushAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);
        // Half-close semantics, as TCP: each direction ends on its own; the session ends when both have.
        await Task.WhenAll(send, receive).ConfigureAwait(false);
        return ExitCodes.Success;
    }
}
