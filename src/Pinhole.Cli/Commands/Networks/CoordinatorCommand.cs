using System.CommandLine;
using Microsoft.Extensions.Logging;
using Pinhole.Coordinator;

namespace Pinhole.Cli.Commands.Networks;

/// <summary><c>pinhole coordinator</c>: runs a coordinator (docs/coordinator.md) with this home's key as its PeerId until Ctrl-C or SIGTERM.</summary>
internal static class CoordinatorCommand
{
    public static Command Create()
    {
        var command = new Command("coordinator", "Run a coordinator for private networks: /pinhole/coord/1 for nodes and the admin REST API for 'pinhole network'. It holds no network key and is never a root of trust.");
        var store = new Option<string>("--store") { Description = "sqlite:PATH (embedded, the default: coordinator.db in the home) or postgres:CONNECTION-STRING (shared by several instances).", };
        var listen = new Option<string[]>("--listen", "-l") { Description = "Multiaddr for nodes (repeatable). Default /ip4/0.0.0.0/tcp/4100." };
        var adminApi = new Option<string>("--admin-api") { Description = "Admin API address, https://HOST:PORT (TLS with libp2p certificates; port 0 for any).", DefaultValueFactory = _ => "https://127.0.0.1:4101" };
        var noAdminApi = new Option<bool>("--no-admin-api") { Description = "Serve no admin API (nodes only)." };
        var creation = new Option<NetworkCreationPolicy>("--network-creation") { Description = "Who may create networks: Open (anyone reaching the admin API), AllowList (--creator), Closed.", DefaultValueFactory = _ => NetworkCreationPolicy.Open };
        var creators = new Option<string[]>("--creator") { Description = "PeerId allowed to create networks with --network-creation AllowList (repeatable)." };
        foreach (var option in new Option[] { store, listen, adminApi, noAdminApi, creation, creators })
        {
            command.Options.Add(option);
        }
        command.SetAction((parse, ct) => CommandRunner.RunAsync(async token =>
        {
            var home = PinholeHome.Resolve(parse.GetValue(GlobalOptions.Home));
            using var identity = await GlobalOptions.LoadIdentityAsync(parse, token).ConfigureAwait(false);
            using var logging = GlobalOptions.CreateLoggerFactory(parse, LogLevel.Information);
            var specification = parse.GetValue(store) ?? "sqlite:" + Path.Combine(home, "coordinator.db");
            await using var opened = await CoordinatorStore.OpenAsync(specification, token).ConfigureAwait(false);
            var options = new CoordinatorOptions
            {
                Identity = identity,
                Store = opened,
                AdminApi = parse.GetValue(noAdminApi) ? null : new Uri(parse.GetValue(adminApi)!),
                NetworkCreation = parse.GetValue(creation),
                LoggerFactory = logging,
            };
            foreach (var address in parse.GetValue(listen) ?? [])
            {
                options.ListenAddresses.Add(Multiaddr.Parse(address));
            }
            foreach (var creator in parse.GetValue(creators) ?? [])
            {
                options.NetworkCreators.Add(PeerId.Parse(creator));
            }
            await using var server = await CoordinatorServer.StartAsync(options, token).ConfigureAwait(false);
            await Console.Out.WriteLineAsync("coordinator: " + server.PeerId).ConfigureAwait(false);
            await Console.Out.WriteLineAsync("store: " + opened.Description).ConfigureAwait(false);
            foreach (var address in server.ListenAddresses)
            {
                await Console.Out.WriteLineAsync(address.ToString()).ConfigureAwait(false);
            }
            if (server.AdminApiAddress is { } api)
            {
                await Console.Out.WriteLineAsync("admin api: " + api).ConfigureAwait(false);
            }
            await Console.Out.FlushAsync(token).ConfigureAwait(false);
            try
            {
                await Task.Delay(Timeout.Infinite, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Ctrl-C / SIGTERM: stop serving cleanly (the connections close, the store is flushed).
            }
            return ExitCodes.Success;
        }, ct));
        return command;
    }
}
