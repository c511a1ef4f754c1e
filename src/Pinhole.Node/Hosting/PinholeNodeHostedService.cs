using Microsoft.Extensions.Hosting;

namespace Pinhole.Node;

/// <summary>
/// Runs a <see cref="PinholeNode"/> inside a Microsoft.Extensions.Hosting host (what <c>pinhole daemon</c>
/// does): started with the host, stopped gracefully on Ctrl-C/SIGTERM within the host's shutdown timeout.
/// </summary>
public sealed class PinholeNodeHostedService(PinholeNode node) : IHostedService
{
    /// <summary>The node.</summary>
    public PinholeNode Node { get; } = node;

    /// <inheritdoc/>
    public Task StartAsync(CancellationToken cancellationToken) => Node.StartAsync(cancellationToken);

    /// <inheritdoc/>
    public Task StopAsync(CancellationToken cancellationToken) => Node.StopAsync(cancellationToken);
}
