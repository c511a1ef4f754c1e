using Pinhole.Codecs;
using Pinhole.Membership.Internal;

namespace Pinhole.Membership;

/// <summary>
/// One message of the coordinator protocol (<c>/pinhole/coord/1</c>) and of member gossip (<c>/pinhole/gossip/1</c>).
/// Each is sent as <c>varint(len) message</c> on a stream of the authenticated connection; the caller's identity is
/// the connection's verified PeerId, never a field.
/// </summary>
/// <remarks>
/// <code>
/// Message = 0x08 varint type                 field 1: CoordinatorMessageType
///           0x12 0x20 network[32]            field 2
///           0x18 varint cursor               field 3: change sequence (records) or request cursor
///           0x22 varint(len) RecordBlob      field 4, repeated: records
///           0x2a varint(len) Envelope        field 5, repeated: sealed requests
///           0x32 0x20 id[32]                 field 6, repeated: record or request ids
///           0x38 varint error_code           field 7: MembershipError
///           0x42 varint(len) error_message   field 8: UTF-8, at most 1024 bytes
///           0x48 varint time                 field 9: sender's clock, Unix milliseconds
///           0x50 varint pending              field 10: requests waiting for the caller
///           0x58 varint caught_up            field 11: 1 once a subscription's backlog is sent
///           0x60 varint limit                field 12
///           0x6a 0x20 digest[32]             field 13: gossip digest
/// frame   = varint(len(Message)) Message     len at most MaxFrameLength, checked before allocating
/// </code>
/// </remarks>
public sealed class CoordinatorMessage
{
    /// <summary>The coordinator protocol id.</summary>
    public const string Protocol = "/pinhole/coord/1";

    /// <summary>The member gossip protocol id.</summary>
    public const string GossipProtocol = "/pinhole/gossip/1";

    /// <summary>Largest frame accepted.</summary>
    public const int MaxFrameLength = 4 * 1024 * 1024;

    /// <summary>Most ids in one message.</summary>
    public const int MaxIds = 100_000;

    /// <summary>Most records or requests in one message.</summary>
    public const int MaxItems = 10_000;

    private const int MaxErrorBytes = 1024;
    private const string What = "Coordinator message";

    /// <summary>Creates a message of <paramref name="type"/>.</summary>
    public CoordinatorMessage(CoordinatorMessageType type) => Type = type;

    /// <summary>The message type.</summary>
    public CoordinatorMessageType Type { get; }

    /// <summary>The network.</summary>
    public NetworkId? Network { get; init; }

    /// <summary>A change or request cursor.</summary>
    public ulong Cursor { get; init; }

    /// <summary>Encoded records (RecordBlob).</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>> Records { get; init; } = [];

    /// <summary>Encoded sealed requests (envelopes).</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>> Requests { get; init; } = [];

    /// <summary>Record or request ids.</summary>
    public IReadOnlyList<RecordId> Ids { get; init; } = [];

    /// <summary>Why an operation failed (for <see cref="CoordinatorMessageType.Error"/>).</summary>
    public MembershipError? ErrorCode { get; init; }

    /// <summary>The error's sentence.</summary>
    public string ErrorMessage { get; init; } = "";

    /// <summary>The sender's clock.</summary>
    public DateTimeOffset? Time { get; init; }

    /// <summary>Requests waiting for the caller.</summary>
    public ulong Pending { get; init; }

    /// <summary>A subscription's backlog has been sent.</summary>
    public bool CaughtUp { get; init; }

    /// <summary>A count limit.</summary>
    public ulong Limit { get; init; }

    /// <summary>A gossip digest (32 bytes) or empty.</summary>
    public ReadOnlyMemory<byte> Digest { get; init; }

    /// <summary>An error reply.</summary>
    public static CoordinatorMessage Failure(MembershipError code, string message) => new(CoordinatorMessageType.Error)
    {
        ErrorCode = code,
        ErrorMessage = message.Length > 512 ? message[..512] : message,
    };

    /// <summary>Throws the <see cref="MembershipException"/> this message carries if it is an error reply, or a protocol error if it is not <paramref name="expected"/>.</summary>
    public CoordinatorMessage Expect(CoordinatorMessageType expected)
    {
        if (Type == CoordinatorMessageType.Error)
        {
            throw new MembershipException(ErrorCode ?? MembershipError.Internal, ErrorMessage.Length > 0 ? ErrorMessage : "The coordinator refused the operation.");
        }
        if (Type != expected)
        {
            throw new PeerException(PeerError.ProtocolViolation, $"Expected a {expected} message, got {Type}.");
        }
        return this;
    }

    /// <summary>Encodes the message (without the frame length).</summary>
    public byte[] Encode()
    {
        var writer = new ProtobufWriter(Records.Sum(r => r.Length + 4) + Requests.Sum(r => r.Length + 4) + Ids.Count * 34 + 64);
        writer.WriteVarint(1, (ulong)Type);
        if (Network is not null)
        {
            writer.WriteBytes(2, Network.Bytes.Span);
        }
        if (Cursor != 0)
        {
            writer.WriteVarint(3, Cursor);
        }
        foreach (var record in Records)
        {
            writer.WriteBytes(4, record.Span);
        }
        foreach (var request in Requests)
        {
            writer.WriteBytes(5, request.Span);
        }
        foreach (var id in Ids)
        {
            writer.WriteBytes(6, id.Span);
        }
        if (ErrorCode is { } code)
        {
            writer.WriteVarint(7, (ulong)code);
        }
        if (ErrorMessage.Length > 0)
        {
            writer.WriteString(8, ErrorMessage);
        }
        if (Time is { } time)
        {
            writer.WriteVarint(9, (ulong)Math.Max(0, time.ToUnixTimeMilliseconds()));
        }
        if (Pending != 0)
        {
            writer.WriteVarint(10, Pending);
        }
        if (CaughtUp)
        {
            writer.WriteVarint(11, 1);
        }
        if (Limit != 0)
        {
            writer.WriteVarint(12, Limit);
        }
        if (!Digest.IsEmpty)
        {
            writer.WriteBytes(13, Digest.Span);
        }
        return writer.ToArray();
    }

    /// <summary>Decodes a message; throws <see cref="FormatException"/> naming the bad field. Records and requests are not decoded.</summary>
    public static CoordinatorMessage Decode(ReadOnlySpan<byte> message)
    {
        if (message.Length > MaxFrameLength)
        {
            throw new FormatException($"{What} is {message.Length} bytes; at most {MaxFrameLength} are accepted.");
        }
        var copy = message.ToArray();
        var reader = new ProtobufReader(message);
        var fields = new FieldTracker(What);
        ulong type = 0, cursor = 0, pending = 0, limit = 0, code = 0;
        ulong? time = null;
        NetworkId? network = null;
        var records = new List<ReadOnlyMemory<byte>>();
        var requests = new List<ReadOnlyMemory<byte>>();
        var ids = new List<RecordId>();
        var error = "";
        var caughtUp = false;
        ReadOnlyMemory<byte> digest = default;
        while (reader.TryReadField())
        {
            switch (reader.FieldNumber)
            {
                case 1:
                    fields.Once(1);
                    type = reader.ReadVarint();
                    break;
                case 2:
                    fields.Once(2);
                    network = RecordFormat.ReadNetwork(reader.ReadBytes(), What);
                    break;
                case 3:
                    fields.Once(3);
                    cursor = reader.ReadVarint();
                    break;
                case 4:
                    fields.Repeated(4);
                    AddItem(records, copy, message, reader.ReadBytes(), NetworkRecord.MaxEncodedLength, "record");
                    break;
                case 5:
                    fields.Repeated(5);
                    AddItem(requests, copy, message, reader.ReadBytes(), SignedEnvelope.MaxEncodedLength, "request");
                    break;
                case 6:
                    fields.Repeated(6);
                    if (ids.Count == MaxIds)
                    {
                        throw new FormatException($"{What}: more than {MaxIds} ids.");
                    }
                    var id = reader.ReadBytes();
                    if (id.Length != RecordId.Length)
                    {
                        throw new FormatException($"{What}: an id is {id.Length} bytes, expected {RecordId.Length}.");
                    }
                    ids.Add(RecordId.FromBytes(id));
                    break;
                case 7:
                    fields.Once(7);
                    code = reader.ReadVarint();
                    break;
                case 8:
                    fields.Once(8);
                    error = RecordFormat.CheckText(reader.ReadString(), MaxErrorBytes, allowEmpty: true, What, "error_message");
                    break;
                case 9:
                    fields.Once(9);
                    time = Math.Min(reader.ReadVarint(), UnixTime.Max * 1000);
                    break;
                case 10:
                    fields.Once(10);
                    pending = reader.ReadVarint();
                    break;
                case 11:
                    fields.Once(11);
                    caughtUp = reader.ReadVarint() switch
                    {
                        0 => false,
                        1 => true,
                        var v => throw new FormatException($"{What}: caught_up is {v}, expected 0 or 1."),
                    };
                    break;
                case 12:
                    fields.Once(12);
                    limit = reader.ReadVarint();
                    break;
                case 13:
                    fields.Once(13);
                    var d = reader.ReadBytes();
                    if (d.Length != 32)
                    {
                        throw new FormatException($"{What}: digest is {d.Length} bytes, expected 32.");
                    }
                    digest = d.ToArray();
                    break;
                default:
                    throw fields.Unknown(reader.FieldNumber);
            }
        }
        fields.Require(1, "type");
        if (!Enum.IsDefined(typeof(CoordinatorMessageType), (int)Math.Min(type, int.MaxValue)))
        {
            throw new FormatException($"{What}: unknown type {type}.");
        }
        MembershipError? errorCode = null;
        if (fields.Has(7))
        {
            errorCode = Enum.IsDefined(typeof(MembershipError), (int)Math.Min(code, int.MaxValue)) ? (MembershipError)code : MembershipError.Internal;
        }
        return new CoordinatorMessage((CoordinatorMessageType)type)
        {
            Network = network,
            Cursor = cursor,
            Records = records,
            Requests = requests,
            Ids = ids,
            ErrorCode = errorCode,
            ErrorMessage = error,
            Time = time is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds((long)ms) : null,
            Pending = pending,
            CaughtUp = caughtUp,
            Limit = limit,
            Digest = digest,
        };
    }

    /// <summary>Writes one frame.</summary>
    public async ValueTask WriteAsync(Stream stream, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        await WriteFrameAsync(stream, Encode(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes an already encoded message as one frame (fan-out encodes a change once for every subscriber).</summary>
    public static async ValueTask WriteFrameAsync(Stream stream, ReadOnlyMemory<byte> encoded, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (encoded.Length > MaxFrameLength)
        {
            throw new PeerException(PeerError.LimitExceeded, $"A {encoded.Length}-byte message is over the {MaxFrameLength}-byte frame limit.");
        }
        var frame = new byte[Varint.GetLength((ulong)encoded.Length) + encoded.Length];
        var n = Varint.Write(frame, (ulong)encoded.Length);
        encoded.Span.CopyTo(frame.AsSpan(n));
        await stream.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads one frame; null at a clean end of stream. Throws <see cref="PeerException"/> for a bad frame.</summary>
    public static async ValueTask<CoordinatorMessage?> ReadAsync(Stream stream, int maxFrameLength = MaxFrameLength, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var length = await ReadLengthAsync(stream, maxFrameLength, cancellationToken).ConfigureAwait(false);
        if (length < 0)
        {
            return null;
        }
        var body = new byte[length];
        await stream.ReadExactlyAsync(body, cancellationToken).ConfigureAwait(false);
        try
        {
            return Decode(body);
        }
        catch (FormatException e)
        {
            throw new PeerException(PeerError.ProtocolViolation, e.Message, e);
        }
    }

    private static async ValueTask<int> ReadLengthAsync(Stream stream, int maxFrameLength, CancellationToken cancellationToken)
    {
        var one = new byte[1];
        ulong value = 0;
        for (var shift = 0; shift < 35; shift += 7)
        {
            var read = await stream.ReadAsync(one, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return shift == 0 ? -1 : throw new PeerException(PeerError.ProtocolViolation, "The stream ended inside a frame length.");
            }
            value |= (ulong)(one[0] & 0x7f) << shift;
            if ((one[0] & 0x80) == 0)
            {
                if (value > (ulong)maxFrameLength)
                {
                    throw new PeerException(PeerError.LimitExceeded, $"A {value}-byte frame is over the {maxFrameLength}-byte limit.");
                }
                return (int)value;
            }
        }
        throw new PeerException(PeerError.ProtocolViolation, "A frame length is longer than 5 bytes.");
    }

    private static void AddItem(List<ReadOnlyMemory<byte>> items, byte[] copy, ReadOnlySpan<byte> original, ReadOnlySpan<byte> item, int max, string what)
    {
        if (items.Count == MaxItems)
        {
            throw new FormatException($"{What}: more than {MaxItems} {what}s.");
        }
        if (item.Length > max)
        {
            throw new FormatException($"{What}: a {what} is {item.Length} bytes; at most {max}.");
        }
        if (item.IsEmpty)
        {
            items.Add(ReadOnlyMemory<byte>.Empty);
            return;
        }
        _ = original.Overlaps(item, out var offset);
        items.Add(copy.AsMemory(offset, item.Length));
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Type} net={Network} cursor={Cursor} records={Records.Count} requests={Requests.Count} ids={Ids.Count}";
}
