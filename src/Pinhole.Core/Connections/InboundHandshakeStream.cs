using System.Buffers.Binary;

namespace Pinhole.Connections;

/// <summary>
/// The raw stream of an inbound connection during (and after) its upgrade: passes everything through, and
/// once TLS starts follows the dialer's TLS records (RFC 8446 §5.1) until the handshake is done:
/// <list type="bullet">
/// <item>the first record must be a plausible ClientHello record, so a header claiming an impossible length
/// is refused at once instead of holding a handshake slot while its body never comes;</item>
/// <item>each whole record counts as progress for eviction (<see cref="HandshakeAdmission"/>), and only a
/// whole first record moves the handshake to <see cref="HandshakeStage.Securing"/>: a dialer that stalls
/// inside its ClientHello can never outrank one that sent it.</item>
/// </list>
/// <code>
/// +--------------+----------------------+------------------+----------------+
/// | content type | legacy version       | length           | fragment       |
/// | 1 byte       | 0x03 0x01..0x03      | u16 big-endian   | length bytes   |
/// +--------------+----------------------+------------------+----------------+
///   first record: type 22 (handshake), length 1..2^14; later: types 20..23, length up to 2^14 + 256
/// </code>
/// </summary>
internal sealed class InboundHandshakeStream : Stream
{
    /// <summary>Largest TLSPlaintext fragment (RFC 8446 §5.1): 2^14 bytes.</summary>
    public const int MaxPlaintextRecord = 16 * 1024;

    /// <summary>Largest TLSCiphertext fragment (RFC 8446 §5.2): 2^14 + 256 bytes.</summary>
    public const int MaxCiphertextRecord = MaxPlaintextRecord + 256;

    private readonly Stream _inner;
    private readonly HandshakeAdmission.Ticket? _ticket;
    private readonly byte[] _header = new byte[5];
    private bool _tracking;
    private bool _multistream = true; // before TLS: multistream-select messages (uvarint length, then that many bytes)
    private int _messageLeft;
    private int _prefixShift;
    private int _headerSeen;
    private int _bodyLeft;
    private int _records;

    public InboundHandshakeStream(Stream inner, HandshakeAdmission.Ticket? ticket = null)
    {
        _inner = inner;
        _ticket = ticket;
    }

    /// <summary>The next bytes read are the dialer's first TLS record.</summary>
    public void ExpectTlsRecord()
    {
        _multistream = false;
        _tracking = true;
    }

    /// <summary>The handshake is over: stop following records.</summary>
    public void StopTracking()
    {
        _multistream = false;
        _tracking = false;
    }

    /// <summary>Null if <paramref name="header"/> can start a ClientHello record; else why not.</summary>
    public static string? CheckClientHelloRecord(ReadOnlySpan<byte> header)
    {
        if (header.Length < 5)
        {
            return "shorter than a TLS record header";
        }
        if (header[0] != 0x16)
        {
            return $"TLS record of content type {header[0]} where a handshake record (22) must come first";
        }
        if (header[1] != 0x03 || header[2] is < 0x01 or > 0x03)
        {
            return $"TLS record with version bytes {header[1]:x2} {header[2]:x2}";
        }
        var length = BinaryPrimitives.ReadUInt16BigEndian(header[3..]);
        return length is 0 or > MaxPlaintextRecord ? $"TLS record header announcing {length} bytes (1..{MaxPlaintextRecord} allowed)" : null;
    }

    /// <summary>Null if <paramref name="header"/> can be a later record of a TLS 1.3 handshake; else why not.</summary>
    public static string? CheckLaterRecord(ReadOnlySpan<byte> header)
    {
        if (header[0] is < 20 or > 23)
        {
            return $"TLS record of content type {header[0]}";
        }
        var length = BinaryPrimitives.ReadUInt16BigEndian(header[3..]);
        return length is 0 or > MaxCiphertextRecord ? $"TLS record header announcing {length} bytes (1..{MaxCiphertextRecord} allowed)" : null;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await _inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        if (read > 0)
        {
            if (_multistream)
            {
                FollowMultistream(buffer.Span[..read]);
            }
            else if (_tracking)
            {
                Follow(buffer.Span[..read]);
            }
        }
        return read;
    }

    // Each whole multistream-select message counts as progress; the parser itself judges the bytes.
    private void FollowMultistream(ReadOnlySpan<byte> data)
    {
        foreach (var b in data)
        {
            if (_messageLeft > 0)
            {
                if (--_messageLeft == 0)
                {
                    _ticket?.Touch();
                }
                continue;
            }
            _messageLeft |= (b & 0x7f) << _prefixShift;
            if ((b & 0x80) != 0 && _prefixShift < 14)
            {
                _prefixShift += 7;
                continue;
            }
            _prefixShift = 0;
            if (_messageLeft == 0)
            {
                _multistream = false; // not multistream-select: the parser will say so
                return;
            }
        }
    }

    private void Follow(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            if (_bodyLeft > 0)
            {
                var skip = Math.Min(_bodyLeft, data.Length);
                _bodyLeft -= skip;
                data = data[skip..];
                if (_bodyLeft == 0)
                {
                    OnRecordComplete();
                }
                continue;
            }
            var take = Math.Min(5 - _headerSeen, data.Length);
            data[..take].CopyTo(_header.AsSpan(_headerSeen));
            _headerSeen += take;
            data = data[take..];
            if (_headerSeen < 5)
            {
                return;
            }
            _headerSeen = 0;
            var problem = _records == 0 ? CheckClientHelloRecord(_header) : CheckLaterRecord(_header);
            if (problem is not null)
            {
                throw new PeerException(PeerError.ProtocolViolation, $"The dialer sent a {problem}.");
            }
            _bodyLeft = BinaryPrimitives.ReadUInt16BigEndian(_header.AsSpan(3));
        }
    }

    private void OnRecordComplete()
    {
        if (_records++ == 0)
        {
            _ticket?.Advance(HandshakeStage.Securing);
        }
        else
        {
            _ticket?.Touch();
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => _inner.WriteAsync(buffer, cancellationToken);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        _inner.WriteAsync(buffer, offset, count, cancellationToken);

    public override void Write(byte[] buffer, int offset, int count) => _inner.Write(buffer, offset, count);

    public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

    public override void Flush() => _inner.Flush();

    public override bool CanRead => _inner.CanRead;

    public override bool CanWrite => _inner.CanWrite;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await _inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
