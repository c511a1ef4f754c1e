using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Pinhole.Membership;

namespace Pinhole.Coordinator.Internal;

/// <summary>
/// The admin REST API: ASP.NET Core minimal APIs over HTTPS where both sides present libp2p certificates (the same
/// self-signed, key-signed certificates as the peer-to-peer transport), so the caller's PeerId is proven by TLS and
/// no password exists. Network-scoped calls are for the network's admins and issuers; the OpenAPI description is at
/// <c>/openapi/v1.json</c>.
/// </summary>
internal sealed partial class AdminApi : IAsyncDisposable
{
    private const string CallerKey = "pinhole.caller";
    private readonly WebApplication _app;
    private readonly X509Certificate2 _certificate;

    private AdminApi(WebApplication app, X509Certificate2 certificate, Uri address)
    {
        _app = app;
        _certificate = certificate;
        Address = address;
    }

    public Uri Address { get; }

    public static async Task<AdminApi> StartAsync(CoordinatorServer server, CoordinatorOptions options, CancellationToken cancellationToken)
    {
        var uri = options.AdminApi!;
        var host = uri.Host.Trim('[', ']');
        var ip = host == "localhost" ? IPAddress.Loopback : IPAddress.Parse(host);
        var certificate = Libp2pCertificate.Create(options.Identity!, options.TimeProvider);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(options.LoggerFactory);
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, AdminApiJsonContext.Default));
        builder.Services.AddOpenApi();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = 8 * 1024 * 1024;
            kestrel.Listen(ip, uri.Port, listen => listen.UseHttps(https =>
            {
                https.ServerCertificate = certificate;
                https.SslProtocols = SslProtocols.Tls13;
                https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
                https.ClientCertificateValidation = (presented, _, _) => TryVerify(presented, options.TimeProvider) is not null;
            }));
        });
        var app = builder.Build();
        app.Use(async (context, next) =>
        {
            var presented = context.Connection.ClientCertificate;
            if (presented is null || TryVerify(presented, options.TimeProvider) is not { } caller)
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                return;
            }
            context.Items[CallerKey] = caller;
            await next(context).ConfigureAwait(false);
        });
        app.MapOpenApi("/openapi/{documentName}.json");
        Map(app, server);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var port = new Uri(bound.Replace("://+", "://localhost", StringComparison.Ordinal).Replace("://*", "://localhost", StringComparison.Ordinal)).Port;
        return new AdminApi(app, certificate, new UriBuilder(Uri.UriSchemeHttps, uri.Host, port).Uri);
    }

    private static PeerId? TryVerify(X509Certificate2 certificate, TimeProvider time)
    {
        try
        {
            return Libp2pCertificate.Verify(certificate, time);
        }
        catch (Exception e) when (e is PeerException or FormatException or System.Security.Cryptography.CryptographicException)
        {
            return null;
        }
    }

    internal static PeerId Caller(HttpContext context) => (PeerId)context.Items[CallerKey]!;

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _certificate.Dispose();
    }

    internal static IResult Problem(MembershipError reason, string message) => Results.Problem(
        title: reason.ToString(),
        detail: message,
        statusCode: reason switch
        {
            MembershipError.Unknown => StatusCodes.Status404NotFound,
            MembershipError.Unauthorized or MembershipError.Forbidden or MembershipError.Revoked => StatusCodes.Status403Forbidden,
            MembershipError.Conflict or MembershipError.AlreadyRedeemed or MembershipError.Stale or MembershipError.BrokenChain or MembershipError.Equivocation => StatusCodes.Status409Conflict,
            MembershipError.LimitExceeded => StatusCodes.Status413PayloadTooLarge,
            MembershipError.AddressesExhausted => StatusCodes.Status507InsufficientStorage,
            MembershipError.Internal => StatusCodes.Status500InternalServerError,
            _ => StatusCodes.Status400BadRequest,
        },
        extensions: new Dictionary<string, object?> { ["reason"] = reason.ToString() });
}
