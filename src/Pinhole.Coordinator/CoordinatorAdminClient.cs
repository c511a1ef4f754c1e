using System.Net.Http.Json;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Pinhole.Membership;

namespace Pinhole.Coordinator;

/// <summary>
/// A typed client of the coordinator's admin REST API, for admin tooling (<c>pinhole network ...</c>). It authenticates
/// with a libp2p certificate made from the admin's key and pins the coordinator by PeerId, as the peer-to-peer
/// transport does. Records it fetches are returned decoded; callers check them against their own
/// <see cref="NetworkState"/> rather than trusting the coordinator's answers.
/// </summary>
public sealed class CoordinatorAdminClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly X509Certificate2 _certificate;

    /// <summary>Talks to the admin API at <paramref name="baseAddress"/> as <paramref name="identity"/>, requiring the server to prove <paramref name="coordinator"/>.</summary>
    public CoordinatorAdminClient(Uri baseAddress, PeerId coordinator, NodeIdentity identity, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(baseAddress);
        ArgumentNullException.ThrowIfNull(coordinator);
        ArgumentNullException.ThrowIfNull(identity);
        var time = timeProvider ?? TimeProvider.System;
        _certificate = Libp2pCertificate.Create(identity, time);
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                EnabledSslProtocols = SslProtocols.Tls13,
                ClientCertificates = [_certificate],
                LocalCertificateSelectionCallback = (_, _, _, _, _) => _certificate,
                RemoteCertificateValidationCallback = (_, presented, _, _) => presented is X509Certificate2 certificate && Proves(certificate, coordinator, time),
            },
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        };
        _http = new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
        Caller = identity.PeerId;
    }

    /// <summary>The PeerId this client authenticates as.</summary>
    public PeerId Caller { get; }

    /// <summary>Health, including the caller's PeerId as the server saw it.</summary>
    public Task<HealthInfo> HealthAsync(CancellationToken cancellationToken = default) => GetAsync<HealthInfo>("api/v1/health", cancellationToken);

    /// <summary>Creates a network from its genesis record.</summary>
    public Task<NetworkInfo> CreateNetworkAsync(GenesisRecord genesis, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(genesis);
        return PostAsync<NetworkInfo>("api/v1/networks", new RecordsBody([Convert.ToBase64String(genesis.Encoded.Span)]), cancellationToken);
    }

    /// <summary>The coordinator's facts about a network.</summary>
    public Task<NetworkInfo> GetNetworkAsync(NetworkId network, CancellationToken cancellationToken = default) =>
        GetAsync<NetworkInfo>($"api/v1/networks/{network}", cancellationToken);

    /// <summary>Writes admin-signed records; throws the first refusal as a <see cref="MembershipException"/> unless <paramref name="throwOnRefusal"/> is false.</summary>
    public async Task<WriteResponse> PublishAsync(NetworkId network, IEnumerable<NetworkRecord> records, bool throwOnRefusal = true, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        var response = await PostAsync<WriteResponse>($"api/v1/networks/{network}/records",
            new RecordsBody([.. records.Select(r => Convert.ToBase64String(r.Encoded.Span))]), cancellationToken).ConfigureAwait(false);
        if (throwOnRefusal && response.Results.FirstOrDefault(r => r.Status == "refused") is { } refused)
        {
            throw new MembershipException(Enum.TryParse<MembershipError>(refused.Reason, out var reason) ? reason : MembershipError.Internal, refused.Message ?? "Refused.");
        }
        return response;
    }

    /// <summary>Every record the coordinator stores for the network (decoded and signature-checked, not yet checked against the network).</summary>
    public async Task<(IReadOnlyList<NetworkRecord> Records, int Undecodable)> GetRecordsAsync(NetworkId network, CancellationToken cancellationToken = default)
    {
        var records = new List<NetworkRecord>();
        var bad = 0;
        ulong cursor = 0;
        while (true)
        {
            var page = await GetAsync<RecordsPage>($"api/v1/networks/{network}/records?after={cursor}", cancellationToken).ConfigureAwait(false);
            foreach (var stored in page.Records)
            {
                try
                {
                    records.Add(NetworkRecord.Decode(Convert.FromBase64String(stored.Record)));
                }
                catch (Exception e) when (e is FormatException or MembershipException)
                {
                    bad++;
                }
            }
            if (!page.More || page.Cursor == cursor)
            {
                return (records, bad);
            }
            cursor = page.Cursor;
        }
    }

    /// <summary>The members by the coordinator's check (informational).</summary>
    public Task<IReadOnlyList<MemberInfo>> GetMembersAsync(NetworkId network, CancellationToken cancellationToken = default) =>
        GetAsync<IReadOnlyList<MemberInfo>>($"api/v1/networks/{network}/members", cancellationToken);

    /// <summary>Allocates the next virtual addresses for an invite.</summary>
    public Task<AllocationResponse> AllocateAsync(NetworkId network, PeerId? inviteKey, CancellationToken cancellationToken = default) =>
        PostAsync<AllocationResponse>($"api/v1/networks/{network}/allocations", new AllocationRequest(inviteKey?.ToString()), cancellationToken);

    /// <inheritdoc/>
    public void Dispose()
    {
        _http.Dispose();
        _certificate.Dispose();
    }

    private static bool Proves(X509Certificate2 certificate, PeerId expected, TimeProvider time)
    {
        try
        {
            return Libp2pCertificate.Verify(certificate, time).FixedTimeEquals(expected);
        }
        catch (Exception e) when (e is PeerException or FormatException or System.Security.Cryptography.CryptographicException)
        {
            return false;
        }
    }

    private async Task<T> GetAsync<T>(string path, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(() => _http.GetAsync(path, cancellationToken)).ConfigureAwait(false);
        return await ReadAsync<T>(response, cancellationToken).ConfigureAwait(false);
    }

    private async Task<T> PostAsync<T>(string path, object body, CancellationToken cancellationToken)
    {
        // The source-generated contract, not reflection: the CLI is published NativeAOT (docs/packaging.md).
        var contract = AdminApiJsonContext.Default.GetTypeInfo(body.GetType())
            ?? throw new InvalidOperationException($"{body.GetType()} is not in AdminApiJsonContext.");
        using var content = JsonContent.Create(body, contract);
        using var response = await SendAsync(() => _http.PostAsync(path, content, cancellationToken)).ConfigureAwait(false);
        return await ReadAsync<T>(response, cancellationToken).ConfigureAwait(false);
    }

    private async Task<HttpResponseMessage> SendAsync(Func<Task<HttpResponseMessage>> send)
    {
        try
        {
            return await send().ConfigureAwait(false);
        }
        catch (HttpRequestException e) when (e.InnerException is AuthenticationException)
        {
            throw new PeerException(PeerError.PeerMismatch, $"The admin API at {_http.BaseAddress} did not prove the coordinator's PeerId: {e.InnerException.Message}", e);
        }
        catch (HttpRequestException e)
        {
            throw new PeerException(PeerError.Unreachable, $"The admin API at {_http.BaseAddress} is unreachable: {e.Message}", e);
        }
        catch (TaskCanceledException e)
        {
            throw new PeerException(PeerError.Timeout, $"The admin API at {_http.BaseAddress} did not answer in time.", e);
        }
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return (T)(await response.Content.ReadFromJsonAsync(typeof(T), AdminApiJsonContext.Default, cancellationToken).ConfigureAwait(false)
                ?? throw new PeerException(PeerError.ProtocolViolation, "The admin API returned an empty body."));
        }
        Microsoft.AspNetCore.Mvc.ProblemDetails? problem = null;
        try
        {
            problem = await response.Content.ReadFromJsonAsync(AdminApiJsonContext.Default.ProblemDetails, cancellationToken).ConfigureAwait(false);
        }
        catch (System.Text.Json.JsonException)
        {
        }
        var reason = problem?.Extensions.TryGetValue("reason", out var value) == true && Enum.TryParse<MembershipError>(value?.ToString(), out var parsed) ? parsed
            : response.StatusCode switch
            {
                System.Net.HttpStatusCode.NotFound => MembershipError.Unknown,
                System.Net.HttpStatusCode.Forbidden or System.Net.HttpStatusCode.Unauthorized => MembershipError.Forbidden,
                _ => MembershipError.Internal,
            };
        throw new MembershipException(reason, problem?.Detail ?? $"The admin API answered {(int)response.StatusCode} {response.ReasonPhrase}.");
    }
}
