using Nerdbank.MessagePack;
using Pinhole.Messaging.Shapes;

namespace Pinhole.Messaging.Internal.Shaped;

/// <summary>
/// The one Nerdbank.MessagePack serializer behind <c>MessageCodec.Shaped</c>: secure
/// settings for untrusted peers, and its own extension type codes moved out of libchan's 1–6 (docs/messaging.md).
/// </summary>
internal static class ShapedSerializer
{
    /// <summary>Where converters of attached channels find the message's encode context or the receiving session.</summary>
    public static readonly object StateKey = new();

    /// <summary>
    /// Nerdbank reserves ext 1–6 by default (object reference, Guid, BigInteger, decimal, Int128, UInt128): the codes
    /// libchan, and so Pinhole, use for streams and channels. They move to 16–21, inside the range MessagePack-CSharp
    /// leaves free too ([0, 30)), so a message never holds two meanings for one code.
    /// </summary>
    public static readonly LibraryReservedMessagePackExtensionTypeCode ExtensionTypeCodes = new()
    {
        ObjectReference = 16,
        Guid = 17,
        BigInteger = 18,
        Decimal = 19,
        Int128 = 20,
        UInt128 = 21,
    };

    /// <summary>Preallocation cap: a declared count (up to the input's size) reserves at most this many slots up front.</summary>
    public const int MaxCollectionPreallocation = 1024;

    public static MessagePackSerializer Instance { get; } = new()
    {
        LibraryExtensionTypeCodes = ExtensionTypeCodes,
        Converters = [new StreamConverter()],
        StartingContext = new SerializationContext
        {
            Security = new SecuritySettings { MaxCollectionPreallocation = MaxCollectionPreallocation },
        },
    };
}
