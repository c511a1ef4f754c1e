using System.Net;

namespace Pinhole.Nat;

public sealed partial class TurnAllocation
{
    // The long-term credential's state: the realm and nonce the server gave, and the key for that realm.
    private AuthState _auth = new(null, null, null);

    private async Task AllocateCoreAsync(CancellationToken cancellationToken)
    {
        uint lifetime = (uint)_options.Lifetime.TotalSeconds;
        StunMessage response = await RequestAsync(StunMethod.Allocate, b => b
            .AddUInt32(StunAttributeType.RequestedTransport, 17u << 24)
            .AddUInt32(StunAttributeType.Lifetime, lifetime), cancellationToken).ConfigureAwait(false);
        RelayedAddress = response.XorRelayedAddress is { } relayed ? Normalize(relayed)
            : throw new TurnException(PeerError.ProtocolViolation, null, $"The TURN server at {Server} answered Allocate without XOR-RELAYED-ADDRESS.");
        if (RelayedAddress.Port == 0 || RelayedAddress.Address.Equals(IPAddress.Any))
        {
            throw new TurnException(PeerError.ProtocolViolation, null, $"The TURN server at {Server} gave the unusable relayed address {RelayedAddress}.");
        }
        MappedAddress = response.XorMappedAddress is { } mapped ? Normalize(mapped) : null;
        SetLifetime(response.Lifetime ?? throw new TurnException(PeerError.ProtocolViolation, null, $"The TURN server at {Server} answered Allocate without LIFETIME."));
        TurnLog.Allocated(_logger, Server, RelayedAddress, MappedAddress, Lifetime);
    }

    private void SetLifetime(TimeSpan lifetime)
    {
        Lifetime = lifetime;
        Expires = _time.GetUtcNow() + lifetime;
    }

    /// <summary>
    /// One authenticated request: adds USERNAME, REALM, NONCE and MESSAGE-INTEGRITY once the server has named
    /// its realm, answers 401 (first time) and 438 by retrying with what the server sent, checks that the
    /// response came from the server and carries a valid MESSAGE-INTEGRITY, and turns error responses into
    /// <see cref="TurnException"/>.
    /// </summary>
    private async Task<StunMessage> RequestAsync(StunMethod method, Action<StunMessageBuilder> attributes, CancellationToken cancellationToken, bool whileDisposing = false)
    {
        int staleRetries = 0;
        bool challenged = false;
        while (true)
        {
            if (!whileDisposing)
            {
                ObjectDisposedException.ThrowIf(Volatile.Read(ref _state) == StateDisposed, this);
            }
            AuthState auth = Volatile.Read(ref _auth);
            StunMessageBuilder request = StunMessageBuilder.Request(method);
            attributes(request);
            if (auth.Key is not null)
            {
                request.AddText(StunAttributeType.Username, _options.Username!)
                    .AddText(StunAttributeType.Realm, auth.Realm!)
                    .AddText(StunAttributeType.Nonce, auth.Nonce!)
                    .AddMessageIntegrity(auth.Key);
            }
            request.AddFingerprint();
            StunResponse response = await _mux.Stun.SendRequestAsync(Server, request, cancellationToken).ConfigureAwait(false);
            StunMessage message = response.Message;
            if (!Normalize(response.Source as IPEndPoint ?? new IPEndPoint(IPAddress.None, 0)).Equals(Server))
            {
                throw new TurnException(PeerError.ProtocolViolation, null, $"A {method} response came from {response.Source}, not the TURN server {Server}.");
            }
            if (message.Class == StunClass.SuccessResponse)
            {
                if (auth.Key is not null && !message.VerifyMessageIntegrity(auth.Key))
                {
                    throw new TurnException(PeerError.ProtocolViolation, null,
                        $"The TURN server at {Server} answered {method} without a valid MESSAGE-INTEGRITY: not the server we share the credential with.");
                }
                if (message.UnknownComprehensionRequired() is { Count: > 0 } unknown)
                {
                    throw new TurnException(PeerError.ProtocolViolation, null,
                        $"The TURN server at {Server} answered {method} with unknown comprehension-required attributes: {string.Join(", ", unknown.Select(StunAttributeType.Name))}.");
                }
                return message;
            }
            StunErrorCode error = message.ErrorCode
                ?? throw new TurnException(PeerError.ProtocolViolation, null, $"The TURN server at {Server} sent a {method} error response without ERROR-CODE.");
            switch (error.Code)
            {
                case StunErrorCode.Unauthenticated when !challenged && auth.Key is null:
                    challenged = true;
                    Volatile.Write(ref _auth, Challenge(message, method));
                    continue;
                case StunErrorCode.Unauthenticated when !challenged && message.Nonce is { } fresh && fresh != auth.Nonce:
                    // Some servers answer an expired nonce with 401 instead of 438: one retry with the new one.
                    challenged = true;
                    Volatile.Write(ref _auth, Challenge(message, method));
                    continue;
                case StunErrorCode.Unauthenticated or StunErrorCode.WrongCredentials:
                    throw new TurnException(PeerError.Refused, error.Code,
                        $"The TURN server at {Server} refused the credentials of '{_options.Username}' ({error.Code} {error.Reason}).");
                case StunErrorCode.StaleNonce when staleRetries < _options.MaxStaleNonceRetries && message.Nonce is { Length: > 0 } nonce:
                    staleRetries++;
                    TurnLog.StaleNonce(_logger, method, Server);
                    Volatile.Write(ref _auth, auth with { Nonce = nonce });
                    continue;
                case StunErrorCode.TryAlternate:
                    throw new TurnException(PeerError.Refused, error.Code, $"The TURN server at {Server} redirects to {message.AlternateServer?.ToString() ?? "(no ALTERNATE-SERVER)"} (300 Try Alternate).");
                default:
                    throw new TurnException(TurnException.Classify(error.Code), error.Code, $"The TURN server at {Server} refused {method}: {error.Code} {error.Reason}.");
            }
        }
    }

    // RFC 8489 §9.2.3: a 401 names the realm and a nonce; the key is MD5(username:realm:password).
    private AuthState Challenge(StunMessage message, StunMethod method)
    {
        string realm = message.Realm is { Length: > 0 and <= 763 } r ? r
            : throw new TurnException(PeerError.ProtocolViolation, StunErrorCode.Unauthenticated, $"The TURN server at {Server} answered {method} with 401 but no usable REALM.");
        string nonce = message.Nonce is { Length: > 0 and <= 763 } n ? n
            : throw new TurnException(PeerError.ProtocolViolation, StunErrorCode.Unauthenticated, $"The TURN server at {Server} answered {method} with 401 but no usable NONCE.");
        if (_auth.Realm is { } known && known != realm)
        {
            throw new TurnException(PeerError.ProtocolViolation, StunErrorCode.Unauthenticated, $"The TURN server at {Server} changed its realm from '{known}' to '{realm}'.");
        }
        return new AuthState(realm, nonce, StunCredentials.LongTermKey(_options.Username!, realm, _options.Password!));
    }

    private sealed record AuthState(string? Realm, string? Nonce, byte[]? Key);
}
