using System.Buffers;
using System.Security.Cryptography.X509Certificates;
using Pinhole.Dtls.Internal;
using Pinhole.Dtls.Native;

namespace Pinhole.Dtls;

public sealed partial class DtlsConnection
{
    private enum State
    {
        Handshaking,
        Established,
        Closed,
    }

    /// <summary>
    /// The OpenSSL side of a connection. Every native call happens under <see cref="_lock"/>, and the SSL
    /// object is disposed under it too, so no call can reach a freed SSL*. Events for the outside world
    /// (packets, establishment, closure) are collected under the lock and raised after it is released.
    /// </summary>
    internal sealed partial class Session : IDtlsCallbackTarget
    {
        // Records one datagram may carry; a datagram with more is read in several passes of the receive loop.
        private const int MaxRecordsPerDatagram = 64;

        private readonly DtlsConnection _owner;
        private readonly NativeDtlsSession _native;
        private readonly Lock _lock = new();
        private readonly ITimer _retransmitTimer;
        private readonly long _createdAt;
        private readonly List<(byte[] Array, int Length)> _received = [];
        private State _state;
        private long _lastReceived;
        private PeerException? _verifyFailure;
        private int _maxPacketSize;
        private bool _established; // set under the lock when the handshake completes, taken once by the raiser
        private string? _cipher;

        internal Session(DtlsConnection owner, NativeDtlsSession native, PeerId? target)
        {
            _owner = owner;
            _native = native;
            Target = target;
            TimeProvider time = owner._endpoint.Options.TimeProvider;
            _createdAt = time.GetTimestamp();
            _lastReceived = _createdAt;
            _retransmitTimer = time.CreateTimer(static s => ((Session)s!).OnRetransmitTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }

        internal PeerId? Target { get; }

        internal PeerId? RemotePeer { get; private set; }

        internal X509Certificate2? RemoteCertificate { get; private set; }

        internal int MaxPacketSize => Volatile.Read(ref _maxPacketSize);

        internal bool IsEstablished
        {
            get
            {
                lock (_lock)
                {
                    return _state == State.Established;
                }
            }
        }

        private DtlsEndpoint Endpoint => _owner._endpoint;

        /// <summary>Starts (client) or continues (server, ClientHello buffered by DTLSv1_listen) the handshake.</summary>
        internal List<byte[]>? Start()
        {
            PeerException? failure = null;
            bool established;
            List<byte[]>? output;
            lock (_lock)
            {
                if (_state != State.Handshaking)
                {
                    return null;
                }
                using DtlsCallbacks.Scope scope = DtlsCallbacks.Enter(this);
                LibCrypto.ERR_clear_error();
                failure = StepHandshake(out established);
                output = DrainOutput();
                ArmRetransmitTimer();
                if (established)
                {
                    failure ??= CompleteHandshake();
                }
                if (failure is not null)
                {
                    CloseLocked();
                }
                established = TakeEstablished();
            }
            RaiseAfterStep(failure, established, deliver: false);
            return output;
        }

        /// <summary>Handles one datagram from the peer's address (receive loop only).</summary>
        internal List<byte[]>? OnDatagram(ReadOnlySpan<byte> datagram)
        {
            PeerException? failure = null;
            bool nowEstablished;
            List<byte[]>? output = null;
            lock (_lock)
            {
                if (_state == State.Closed)
                {
                    return null;
                }
                using DtlsCallbacks.Scope scope = DtlsCallbacks.Enter(this);
                _native.FeedDatagram(datagram);
                if (_state == State.Handshaking)
                {
                    LibCrypto.ERR_clear_error();
                    failure = StepHandshake(out bool established);
                    if (established)
                    {
                        failure ??= CompleteHandshake();
                    }
                    ArmRetransmitTimer();
                }
                if (_state == State.Established && failure is null)
                {
                    failure = ReadRecords();
                }
                if (_native.PendingOutput > 0)
                {
                    output = DrainOutput();
                }
                if (failure is not null)
                {
                    CloseLocked();
                }
                nowEstablished = TakeEstablished();
            }
            // Only the receive loop fills and drains _received, so delivering here needs no lock.
            RaiseAfterStep(failure, nowEstablished, deliver: true);
            return output;
        }

        /// <summary>Encrypts one packet; returns a pooled array holding the datagram.</summary>
        internal byte[] Encrypt(ReadOnlySpan<byte> packet, out int length)
        {
            PeerException? failure = null;
            lock (_lock)
            {
                if (_state != State.Established)
                {
                    throw NotOpen();
                }
                if (packet.Length > _maxPacketSize)
                {
                    throw new PeerException(PeerError.LimitExceeded,
                        $"A {packet.Length}-byte packet exceeds the {_maxPacketSize}-byte limit of this DTLS session " +
                        $"({Endpoint.Options.MaxDatagramSize}-byte datagrams minus record overhead); it was not sent.");
                }
                SslStatus status = _native.Write(packet, out string? error);
                if (status == SslStatus.Ok)
                {
                    int pending = _native.PendingOutput;
                    byte[] datagram = ArrayPool<byte>.Shared.Rent(Math.Max(pending, 1));
                    length = _native.ReadOutput(datagram);
                    return datagram;
                }
                failure = new PeerException(PeerError.ConnectionClosed, $"DTLS write to {_owner.RemoteEndPoint} failed: {error ?? status.ToString()}");
                CloseLocked();
            }
            RaiseAfterStep(failure, established: false, deliver: false);
            throw failure;
        }

        /// <summary>Closes the session (idempotent); returns close_notify to send if asked and possible.</summary>
        internal List<byte[]>? Close(PeerException reason, bool notify)
        {
            List<byte[]>? output = null;
            lock (_lock)
            {
                if (_state == State.Closed)
                {
                    return null;
                }
                if (notify && _state == State.Established)
                {
                    _native.Shutdown();
                    output = DrainOutput();
                }
                CloseLocked();
            }
            RaiseAfterStep(reason, established: false, deliver: false);
            return output;
        }

        /// <summary>Housekeeping: the reason to close this session now, if any.</summary>
        internal PeerException? CheckTimers(long now)
        {
            DtlsEndpointOptions options = Endpoint.Options;
            TimeProvider time = options.TimeProvider;
            lock (_lock)
            {
                if (_state == State.Handshaking && time.GetElapsedTime(_createdAt, now) > options.HandshakeTimeout)
                {
                    return new PeerException(PeerError.Timeout, $"The DTLS handshake with {_owner.RemoteEndPoint} did not complete within {options.HandshakeTimeout}.");
                }
                if (_state == State.Established && options.IdleTimeout != Timeout.InfiniteTimeSpan
                    && time.GetElapsedTime(Volatile.Read(ref _lastReceived), now) > options.IdleTimeout)
                {
                    return new PeerException(PeerError.IdleTimeout, $"The DTLS connection to {_owner.RemoteEndPoint} received nothing for {options.IdleTimeout}.");
                }
            }
            return null;
        }

        private PeerException? StepHandshake(out bool established)
        {
            established = false;
            SslStatus status = _native.Handshake(out string? error);
            switch (status)
            {
                case SslStatus.Ok:
                    established = true;
                    return null;
                case SslStatus.WantRead:
                    return null;
                default:
                    return _verifyFailure ?? new PeerException(PeerError.HandshakeFailed,
                        $"The DTLS handshake with {_owner.RemoteEndPoint} failed: {error ?? "the peer closed the session"}.");
            }
        }

        private PeerException? CompleteHandshake()
        {
            if (RemotePeer is null)
            {
                // The verify callback always runs when a certificate arrives; no certificate, no session.
                return new PeerException(PeerError.InvalidCertificate, $"The peer at {_owner.RemoteEndPoint} presented no certificate.");
            }
            _maxPacketSize = _native.DataMtu;
            _state = State.Established;
            _lastReceived = Endpoint.Options.TimeProvider.GetTimestamp();
            _established = true;
            _cipher = _native.CipherName;
            return null;
        }

        // Receive loop only: decrypts into the endpoint's scratch buffer (big enough for any record, so a
        // record is never split across two packets) and copies each packet into a pooled array of its size.
        private PeerException? ReadRecords()
        {
            bool any = false;
            byte[] scratch = Endpoint.ReadScratch;
            for (int i = 0; i < MaxRecordsPerDatagram; i++)
            {
                SslStatus status = _native.Read(scratch, out int read, out string? error);
                if (status == SslStatus.Ok)
                {
                    any = true;
                    byte[] packet = ArrayPool<byte>.Shared.Rent(read);
                    scratch.AsSpan(0, read).CopyTo(packet);
                    _received.Add((packet, read));
                    if (!_native.HasPending)
                    {
                        break;
                    }
                    continue;
                }
                if (status == SslStatus.WantRead)
                {
                    break;
                }
                if (status == SslStatus.Closed)
                {
                    // Answer close_notify with close_notify (RFC 5246 §7.2.1).
                    _native.Shutdown();
                    return new PeerException(PeerError.ConnectionClosed, $"The peer at {_owner.RemoteEndPoint} closed the DTLS connection.");
                }
                return new PeerException(PeerError.ProtocolViolation, $"The DTLS connection to {_owner.RemoteEndPoint} failed: {error}.");
            }
            if (any)
            {
                Volatile.Write(ref _lastReceived, Endpoint.Options.TimeProvider.GetTimestamp());
            }
            return null;
        }

        // Cuts OpenSSL's output into datagrams of at most MaxDatagramSize (OpenSSL sizes records to the MTU).
        private List<byte[]>? DrainOutput()
        {
            int pending = _native.PendingOutput;
            if (pending <= 0)
            {
                return null;
            }
            byte[] all = ArrayPool<byte>.Shared.Rent(pending);
            try
            {
                int length = _native.ReadOutput(all.AsSpan(0, pending));
                Span<(int Offset, int Length)> cuts = stackalloc (int, int)[64];
                int count = DtlsRecord.Pack(all.AsSpan(0, length), Endpoint.Options.MaxDatagramSize, cuts);
                var datagrams = new List<byte[]>(Math.Max(count, 1));
                if (count < 0)
                {
                    // Not whole records (cannot happen with OpenSSL's writer): send as produced.
                    datagrams.Add(all.AsSpan(0, length).ToArray());
                    return datagrams;
                }
                for (int i = 0; i < count; i++)
                {
                    datagrams.Add(all.AsSpan(cuts[i].Offset, cuts[i].Length).ToArray());
                }
                return datagrams;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(all);
            }
        }

        private void ArmRetransmitTimer()
        {
            if (_state != State.Handshaking)
            {
                _retransmitTimer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                return;
            }
            TimeSpan? due = _native.GetTimeout();
            // OpenSSL reports 0 when the timer already expired; poll again shortly rather than spin.
            _retransmitTimer.Change(due is null ? Timeout.InfiniteTimeSpan : due.Value < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : due.Value, Timeout.InfiniteTimeSpan);
        }

        private void OnRetransmitTimer()
        {
            PeerException? failure = null;
            List<byte[]>? output;
            lock (_lock)
            {
                if (_state != State.Handshaking)
                {
                    return;
                }
                using DtlsCallbacks.Scope scope = DtlsCallbacks.Enter(this);
                LibCrypto.ERR_clear_error();
                if (_native.HandleTimeout() < 0)
                {
                    failure = new PeerException(PeerError.Timeout,
                        $"The DTLS handshake with {_owner.RemoteEndPoint} gave up retransmitting: {OpenSslError.Drain("too many retransmissions")}.");
                }
                output = DrainOutput();
                ArmRetransmitTimer();
                if (failure is not null)
                {
                    CloseLocked();
                }
            }
            RaiseAfterStep(failure, established: false, deliver: false);
            Endpoint.SendDetached(_owner.RemoteEndPoint, output);
        }

        private void CloseLocked()
        {
            _state = State.Closed;
            _retransmitTimer.Dispose();
            _native.Dispose();
        }

        private bool TakeEstablished()
        {
            bool established = _established;
            _established = false;
            return established;
        }

        // Raised outside the lock: user code and other locks may run here.
        private void RaiseAfterStep(PeerException? failure, bool established, bool deliver)
        {
            if (deliver && _received.Count > 0)
            {
                foreach ((byte[] array, int length) in _received)
                {
                    _owner.Deliver(array, length);
                }
                _received.Clear();
            }
            if (established && failure is null)
            {
                _owner.OnEstablished(_cipher);
            }
            if (failure is not null)
            {
                _owner.OnClosed(failure);
            }
        }

        private PeerException NotOpen() => _owner.CloseReason is { } reason
            ? new PeerException(reason.Error, reason.Message, reason)
            : new PeerException(PeerError.ConnectionClosed, _state == State.Handshaking
                ? $"The DTLS handshake with {_owner.RemoteEndPoint} has not completed."
                : $"The DTLS connection to {_owner.RemoteEndPoint} is closed.");

        bool IDtlsCallbackTarget.VerifyPeerCertificate(ReadOnlySpan<byte> certificateDer)
        {
            if (RemotePeer is not null)
            {
                // OpenSSL calls again for each chain error at depth 0; the first verdict stands.
                return RemoteCertificate is not null && certificateDer.SequenceEqual(RemoteCertificate.RawData);
            }
            try
            {
                X509Certificate2 certificate = X509CertificateLoader.LoadCertificate(certificateDer);
                Libp2pPublicKey key = Libp2pCertificate.VerifyKey(certificate, Endpoint.Options.TimeProvider);
                PeerId peer = key.PeerId;
                if (Target is not null && !Target.FixedTimeEquals(peer))
                {
                    _verifyFailure = new PeerException(PeerError.PeerMismatch,
                        $"Dialled {Target} at {_owner.RemoteEndPoint} but the peer there proved {peer}.");
                    certificate.Dispose();
                    return false;
                }
                if (Target is not null && Endpoint.ExpectedKey(_owner.RemoteEndPoint, Target) is { } expected && !expected.Equals(key))
                {
                    _verifyFailure = new PeerException(PeerError.PeerMismatch,
                        $"The peer at {_owner.RemoteEndPoint} proved a different key than the bind reported for {Target}.");
                    certificate.Dispose();
                    return false;
                }
                if (Target is null && !Admits(peer))
                {
                    _verifyFailure = new PeerException(PeerError.Refused,
                        $"{peer} at {_owner.RemoteEndPoint} is not accepted by this endpoint.");
                    certificate.Dispose();
                    return false;
                }
                RemoteCertificate = certificate;
                RemotePeer = peer;
                Endpoint.RememberKey(_owner.RemoteEndPoint, key);
                return true;
            }
            catch (PeerException e)
            {
                _verifyFailure = e;
                return false;
            }
            catch (System.Security.Cryptography.CryptographicException e)
            {
                _verifyFailure = new PeerException(PeerError.InvalidCertificate, $"The peer at {_owner.RemoteEndPoint} sent an unreadable certificate: {e.Message}", e);
                return false;
            }
        }

        private bool Admits(PeerId peer)
        {
            if (Endpoint.Options.AcceptPeer is not { } accept)
            {
                return true;
            }
            try
            {
                return accept(peer, _owner.RemoteEndPoint);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A throwing policy refuses: failing closed is the only safe reading of it.
                return false;
            }
        }

        // OpenSSL re-checks the cookie of the ClientHello that DTLSv1_listen buffered for this session.
        int IDtlsCallbackTarget.GenerateCookie(Span<byte> cookie) => Endpoint.Cookies.Generate(_owner.RemoteEndPoint, cookie);

        bool IDtlsCallbackTarget.VerifyCookie(ReadOnlySpan<byte> cookie) => Endpoint.Cookies.Verify(_owner.RemoteEndPoint, cookie);

        uint IDtlsCallbackTarget.NextRetransmitTimeout(uint previousMicroseconds) => Endpoint.NextRetransmitTimeout(previousMicroseconds);
    }
}
