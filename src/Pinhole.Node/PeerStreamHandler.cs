namespace Pinhole.Node;

/// <summary>
/// Serves one inbound stream of a protocol registered with <see cref="PinholeNodeBuilder.Handle"/>. The node
/// disposes the stream when the handler returns; the token is cancelled when the node stops or the
/// connection closes. An exception aborts the stream (it is logged, the node goes on).
/// </summary>
public delegate Task PeerStreamHandler(PeerConnection connection, PeerStream stream, CancellationToken cancellationToken);

/// <summary>Serves one inbound DTLS session (registered with <see cref="PinholeNodeBuilder.HandleDatagrams"/>); the node closes it when the handler returns.</summary>
public delegate Task DatagramSessionHandler(Pinhole.Dtls.DtlsConnection session, CancellationToken cancellationToken);

/// <summary>Serves one inbound connection on the Goblins tcp-tls netlayer (registered with <see cref="PinholeNodeBuilder.HandleOcapn"/>); the node disposes it when the handler returns.</summary>
public delegate Task OcapnConnectionHandler(Pinhole.Ocapn.OcapnTcpTlsConnection connection, CancellationToken cancellationToken);
