namespace Pinhole.Messaging.MessagePack;

/// <summary>The header of an extension value: its type number and payload length.</summary>
/// <param name="Type">The extension type number.</param>
/// <param name="Length">The payload length in bytes.</param>
public readonly record struct ExtensionHeader(sbyte Type, int Length);
