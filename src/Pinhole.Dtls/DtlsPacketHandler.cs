namespace Pinhole.Dtls;

/// <summary>
/// Receives each decrypted packet of a connection on the endpoint's receive loop, without queueing or
/// copying. The span is valid only during the call; the handler must be quick and must not block.
/// </summary>
public delegate void DtlsPacketHandler(DtlsConnection connection, ReadOnlySpan<byte> packet);
