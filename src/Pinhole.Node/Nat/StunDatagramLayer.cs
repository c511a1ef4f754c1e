using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Pinhole.Dtls;
using Pinhole.Nat;

namespace Pinhole.Node;

/// <summary>
/// NAT traversal's first step on every UDP socket of the node (the node's own and each API socket): a
/// <see cref="UdpMux"/> demultiplexes STUN from DTLS (RFC 7983), answers STUN Binding requests (so peers can
/// learn their reflexive address from this node), and asks <see cref="PinholeNodeOptions.StunServers"/> for the
/// socket's public address. The node uses it when STUN servers are configured and no other layer was set with
/// <see cref="PinholeNodeBuilder.UseDatagramLayer"/>.
/// </summary>
public sealed class StunDatagramLayerFactory : INodeDatagramLayerFactory
{
    private readonly IReadOnlyList<EndPoint> _servers;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory? _loggerFactory;

    /// <param name="servers">STUN servers asked in order until one answers (<see cref="IPEndPoint"/> or <see cref="DnsEndPoint"/>).</param>
    /// <param name="time">Clock for the STUN retransmission schedule.</param>
    /// <param name="loggerFactory">Logging.</param>
    public StunDatagramLayerFactory(IEnumerable<EndPoint> servers, TimeProvider? time = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(servers);
        _servers = [.. servers];
        if (_servers.Any(s => s is not (IPEndPoint or DnsEndPoint)))
        {
            throw new ArgumentException("A STUN server is an IP endpoint or a host name with a port.", nameof(servers));
        }
        _time = time ?? TimeProvider.System;
        _loggerFactory = loggerFactory;
    }

    /// <inheritdoc />
    public NodeDatagramLayer Create(IDatagramBind socket, NodeSocketPurpose purpose)
    {
        var mux = UdpMux.Create(socket, new UdpMuxOptions
        {
            TimeProvider = _time,
            LoggerFactory = _loggerFactory,
            // Binding requests are answered on every socket: a peer behind a NAT can ask any node where it is seen.
            ServeStun = true,
        });
        return new StunDatagramLayer(mux, _servers);
    }

    /// <summary>One socket's mux; the public address is asked for once and then remembered.</summary>
    internal sealed class StunDatagramLayer(UdpMux mux, IReadOnlyList<EndPoint> servers) : NodeDatagramLayer
    {
        private readonly IDatagramBind _dtls = mux.OpenDtlsBind();

        /// <summary>The socket's demultiplexer: UDP hole punching sends its checks through it.</summary>
        internal UdpMux Mux => mux;
        private readonly SemaphoreSlim _asking = new(1, 1);
        private IPEndPoint? _public;

        public override IDatagramBind DtlsBind => _dtls;

        public override async ValueTask<IPEndPoint?> GetPublicEndPointAsync(CancellationToken cancellationToken = default)
        {
            if (Volatile.Read(ref _public) is { } known)
            {
                return known;
            }
            await _asking.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                // Only an answer is remembered: after a failure the next caller asks again.
                if (_public is null)
                {
                    Volatile.Write(ref _public, await AskAsync(cancellationToken).ConfigureAwait(false));
                }
                return _public;
            }
            finally
            {
                _asking.Release();
            }
        }

        private async Task<IPEndPoint?> AskAsync(CancellationToken cancellationToken)
        {
            var family = ((IPEndPoint)mux.LocalEndPoint).AddressFamily;
            foreach (var server in servers)
            {
                try
                {
                    var target = await ResolveAsync(server, family, cancellationToken).ConfigureAwait(false);
                    if (target is null)
                    {
                        continue;
                    }
                    var response = await mux.Stun.BindingAsync(target, cancellationToken: cancellationToken).ConfigureAwait(false);
                    return response.Message.ReflexiveAddress;
                }
                catch (Exception e) when (e is PeerException or SocketException && !cancellationToken.IsCancellationRequested)
                {
                    // The next server may answer; none answering leaves the public address unknown.
                }
            }
            return null;
        }

        private static async Task<IPEndPoint?> ResolveAsync(EndPoint server, AddressFamily family, CancellationToken cancellationToken)
        {
            if (server is IPEndPoint ip)
            {
                // An IPv6 socket bound to [::] is dual-mode: it reaches IPv4 servers too.
                return ip.AddressFamily == family || family == AddressFamily.InterNetworkV6 ? ip : null;
            }
            var dns = (DnsEndPoint)server;
            var addresses = await Dns.GetHostAddressesAsync(dns.Host, family == AddressFamily.InterNetwork ? family : AddressFamily.Unspecified, cancellationToken).ConfigureAwait(false);
            return addresses.Length == 0 ? null : new IPEndPoint(addresses[0], dns.Port);
        }

        public override async ValueTask DisposeAsync()
        {
            await _dtls.DisposeAsync().ConfigureAwait(false);
            // The mux owns the socket and closes it; the node's own dispose of it afterwards is a no-op.
            await mux.DisposeAsync().ConfigureAwait(false);
            _asking.Dispose();
            await base.DisposeAsync().ConfigureAwait(false);
        }
    }
}
