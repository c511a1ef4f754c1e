namespace Pinhole.Node.Tests;

public static class ApiNodes
{
    /// <summary>Starts a node with a home and the local API on its socket; returns it with a client.</summary>
    public static async Task<(PinholeNode Node, PinholeApiClient Client)> StartAsync(TestNodes nodes, Action<PinholeNodeBuilder>? configure = null, TimeProvider? time = null)
    {
        var node = await nodes.StartAsync(b =>
        {
            b.Options.Api = new LocalApiOptions();
            configure?.Invoke(b);
        }, withHome: true, time: time);
        return (node, new PinholeApiClient(node.ApiSocketPath!));
    }
}
