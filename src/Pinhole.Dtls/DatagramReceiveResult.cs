using System.Net;

namespace Pinhole.Dtls;

/// <summary>One received datagram: where it came from and how many bytes were written to the buffer.</summary>
/// <param name="RemoteEndPoint">The source address as the bind reports it (not authenticated).</param>
/// <param name="Length">Bytes written at the start of the caller's buffer.</param>
public readonly record struct DatagramReceiveResult(EndPoint RemoteEndPoint, int Length);
