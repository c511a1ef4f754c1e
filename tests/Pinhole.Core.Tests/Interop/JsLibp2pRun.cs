namespace Pinhole.Core.Tests.Interop;

/// <summary>The outcome of one peer.mjs run to completion (dial, verify-cert, make-cert).</summary>
public sealed class JsLibp2pRun
{
    internal JsLibp2pRun(int exitCode, IReadOnlyList<JsLibp2pEvent> events, string standardError)
    {
        ExitCode = exitCode;
        Events = events;
        StandardError = standardError;
    }

    /// <summary>0 on success, 1 after an <c>error</c> event.</summary>
    public int ExitCode { get; }

    /// <summary>Every JSON line printed, in order.</summary>
    public IReadOnlyList<JsLibp2pEvent> Events { get; }

    /// <summary>stderr (js-libp2p's debug log when PINHOLE_LIBP2P_DEBUG is set).</summary>
    public string StandardError { get; }

    /// <summary>The events named <paramref name="name"/>.</summary>
    public IReadOnlyList<JsLibp2pEvent> All(string name) => [.. Events.Where(e => e.Name == name)];

    /// <summary>The one event named <paramref name="name"/>; throws with the whole output if there is not exactly one.</summary>
    public JsLibp2pEvent Single(string name)
    {
        var found = All(name);
        return found.Count == 1
            ? found[0]
            : throw new InvalidOperationException($"expected one '{name}' event, got {found.Count}.\n{this}");
    }

    /// <summary>The error message if the run failed with an <c>error</c> event.</summary>
    public string? ErrorMessage => All("error") is [var e, ..] ? e.GetString("message") : null;

    /// <inheritdoc/>
    public override string ToString() =>
        $"exit {ExitCode}\nstdout:\n{string.Join('\n', Events)}\nstderr:\n{StandardError}";
}
