using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Pinhole.Node.Api;

/// <summary>
/// Errors as RFC 9457 problem details. <c>type</c> is <c>urn:pinhole:problem:&lt;kind&gt;</c> (the kinds are
/// listed in docs/node.md); <c>error</c> carries the <see cref="PeerError"/> when the stack raised one.
/// </summary>
internal static class ApiProblems
{
    public const string TypePrefix = "urn:pinhole:problem:";

    public static ProblemHttpResult Problem(int status, string kind, string title, string detail, string? error = null)
    {
        var extensions = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (error is not null)
        {
            extensions["error"] = error;
        }
        return TypedResults.Problem(detail: detail, statusCode: status, title: title, type: TypePrefix + kind, extensions: extensions);
    }

    public static ProblemHttpResult NotFound(string detail) => Problem(StatusCodes.Status404NotFound, "not-found", "Not found", detail);

    public static ProblemHttpResult BadRequest(string detail) => Problem(StatusCodes.Status400BadRequest, "bad-request", "Bad request", detail);

    public static ProblemHttpResult Conflict(string detail) => Problem(StatusCodes.Status409Conflict, "conflict", "Conflict", detail);

    /// <summary>Maps an exception from the node to a problem (anything unexpected is rethrown to the exception handler).</summary>
    public static ProblemHttpResult From(Exception e) => e switch
    {
        PeerException p => p.Error switch
        {
            PeerError.PeerMismatch or PeerError.InvalidCertificate or PeerError.HandshakeFailed =>
                Problem(StatusCodes.Status502BadGateway, "peer-authentication-failed", "The peer could not be authenticated", p.Message, p.Error.ToString()),
            PeerError.Unreachable or PeerError.Refused =>
                Problem(StatusCodes.Status502BadGateway, "peer-unreachable", "The peer could not be reached", p.Message, p.Error.ToString()),
            PeerError.Timeout =>
                Problem(StatusCodes.Status504GatewayTimeout, "peer-timeout", "The peer did not answer in time", p.Message, p.Error.ToString()),
            PeerError.LimitExceeded =>
                Problem(StatusCodes.Status503ServiceUnavailable, "limit-exceeded", "A limit of the node was reached", p.Message, p.Error.ToString()),
            PeerError.ConnectionClosed or PeerError.StreamAborted or PeerError.IdleTimeout =>
                Problem(StatusCodes.Status502BadGateway, "connection-closed", "The connection closed", p.Message, p.Error.ToString()),
            _ => Problem(StatusCodes.Status502BadGateway, "peer-error", "The peer connection failed", p.Message, p.Error.ToString()),
        },
        PeerStoreException s => Problem(StatusCodes.Status409Conflict, "store-conflict", "The peer store refused the change", s.Message),
        KeyNotFoundException k => NotFound(k.Message),
        FormatException f => BadRequest(f.Message),
        ArgumentException a => BadRequest(a.ParamName is null ? a.Message : a.Message.Replace($" (Parameter '{a.ParamName}')", "", StringComparison.Ordinal)),
        InvalidOperationException i => Conflict(i.Message),
        _ => throw new InvalidOperationException("Unmapped API error.", e),
    };

    public static bool IsMapped(Exception e) => e is PeerException or PeerStoreException or KeyNotFoundException or FormatException or ArgumentException or InvalidOperationException;
}
