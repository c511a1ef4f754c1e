using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Pinhole.Vpn.DataPlane;

/// <summary>
/// The record keys of one DTLS handshake with one peer: derived with the RFC 5705 exporter, one key and
/// salt per direction and one receiver index per side. The sending counter is shared by every thread that
/// sends (atomic), each with its own cipher context; receiving is the receive loop's alone.
/// </summary>
internal sealed class Keypair : IDisposable
{
    /// <summary>The exporter label (RFC 5705 §4: starts with EXPORTER).</summary>
    internal const string ExporterLabel = "EXPORTER-pinhole-vpn-records";

    /// <summary>The exporter context: the record format's version.</summary>
    internal static ReadOnlySpan<byte> ExporterContext => "pinhole-vpn/1"u8;

    /// <summary>Bytes exported per handshake.</summary>
    internal const int MaterialLength = 2 * (RecordCipher.KeyLength + RecordCipher.SaltLength) + 8;

    private readonly RecordCipher _sendData;
    private readonly RecordCipher _sendControl;
    private readonly Lock _controlLock = new();
    private long _nextCounter = -1;
    private int _disposed;

    private Keypair(Peer peer, bool initiator, long created, uint localIndex, uint remoteIndex, RecordCipher sendData, RecordCipher sendControl, RecordCipher receive)
    {
        Peer = peer;
        IsInitiator = initiator;
        Created = created;
        LocalIndex = localIndex;
        RemoteIndex = remoteIndex;
        _sendData = sendData;
        _sendControl = sendControl;
        Receive = receive;
    }

    internal Peer Peer { get; }

    /// <summary>True if this side dialled (was the DTLS client).</summary>
    internal bool IsInitiator { get; }

    /// <summary>TimeProvider timestamp of the handshake.</summary>
    internal long Created { get; }

    /// <summary>The index records to us carry.</summary>
    internal uint LocalIndex { get; }

    /// <summary>The index our records carry.</summary>
    internal uint RemoteIndex { get; }

    /// <summary>The receive loop's cipher.</summary>
    internal RecordCipher Receive { get; }

    /// <summary>The receive loop's replay window.</summary>
    internal ReplayWindow Replay { get; } = new();

    /// <summary>Records sent so far.</summary>
    internal ulong Sent => (ulong)(Interlocked.Read(ref _nextCounter) + 1);

    /// <summary>
    /// Derives the keypair from exported material (layout: key c→s 32 | salt c→s 4 | key s→c 32 |
    /// salt s→c 4 | index the client receives on 4 | index the server receives on 4). The material is
    /// zeroed afterwards. Null if an index is 0 (reserved).
    /// </summary>
    internal static Keypair? Create(Peer peer, Span<byte> material, bool initiator, long now)
    {
        if (material.Length != MaterialLength)
        {
            throw new ArgumentException($"Keying material is {MaterialLength} bytes.", nameof(material));
        }
        try
        {
            const int half = RecordCipher.KeyLength + RecordCipher.SaltLength;
            Span<byte> clientToServer = material[..half];
            Span<byte> serverToClient = material.Slice(half, half);
            uint clientIndex = BinaryPrimitives.ReadUInt32BigEndian(material[(2 * half)..]);
            uint serverIndex = BinaryPrimitives.ReadUInt32BigEndian(material[(2 * half + 4)..]);
            if (clientIndex == 0 || serverIndex == 0 || clientIndex == serverIndex)
            {
                return null;
            }
            Span<byte> send = initiator ? clientToServer : serverToClient;
            Span<byte> receive = initiator ? serverToClient : clientToServer;
            var sendData = new RecordCipher(send[..RecordCipher.KeyLength], send[RecordCipher.KeyLength..], encrypt: true);
            var sendControl = new RecordCipher(send[..RecordCipher.KeyLength], send[RecordCipher.KeyLength..], encrypt: true);
            var receiveCipher = new RecordCipher(receive[..RecordCipher.KeyLength], receive[RecordCipher.KeyLength..], encrypt: false);
            return new Keypair(peer, initiator, now, initiator ? clientIndex : serverIndex, initiator ? serverIndex : clientIndex, sendData, sendControl, receiveCipher);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(material);
        }
    }

    /// <summary>Takes the next record counter.</summary>
    internal ulong NextCounter() => (ulong)Interlocked.Increment(ref _nextCounter);

    /// <summary>
    /// Seals a record in place on the data path (TUN thread only). <paramref name="record"/> spans the
    /// whole datagram: 13 header bytes, plaintext, 16 tag bytes.
    /// </summary>
    internal void SealData(Span<byte> record, ulong counter)
    {
        WireFormat.WriteDataHeader(record, RemoteIndex);
        _sendData.Seal(record[5..], counter, WireFormat.Data);
    }

    /// <summary>Seals a record from any thread (keepalives, pings, queued packets).</summary>
    internal void SealControl(Span<byte> record)
    {
        lock (_controlLock)
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            WireFormat.WriteDataHeader(record, RemoteIndex);
            _sendControl.Seal(record[5..], NextCounter(), WireFormat.Data);
        }
    }

    /// <summary>True once disposed.</summary>
    internal bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <inheritdoc />
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        lock (_controlLock)
        {
            _sendControl.Dispose();
        }
        // The data and receive ciphers are used without a lock by their one thread; the owner retires a
        // keypair only after those threads can no longer reach it (see VpnInterface.Retire).
        _sendData.Dispose();
        Receive.Dispose();
    }
}
