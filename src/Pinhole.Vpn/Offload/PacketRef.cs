namespace Pinhole.Vpn.Offload;

/// <summary>
/// One IP packet inside a pooled buffer: bytes [<see cref="Offset"/>, <see cref="Offset"/> + <see cref="Length"/>)
/// of <see cref="Buffer"/>. The bytes in front of <see cref="Offset"/> are header room the data plane fills
/// in place (record header, virtio-net header).
/// </summary>
internal struct PacketRef
{
    internal byte[] Buffer;
    internal int Offset;
    internal int Length;

    internal PacketRef(byte[] buffer, int offset, int length)
    {
        Buffer = buffer;
        Offset = offset;
        Length = length;
    }

    internal readonly Span<byte> Span => Buffer.AsSpan(Offset, Length);

    /// <summary>Room left after the packet in its buffer.</summary>
    internal readonly int Capacity => Buffer.Length - Offset;
}
