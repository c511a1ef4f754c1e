using System.Net;
using System.Net.Sockets;

namespace Pinhole.Testing.Netlab;

/// <summary>
/// A host in a <see cref="NatLab"/>: its own namespace with one address. Run a Pinhole client inside it either
/// in-process (<see cref="RunInside{T}"/> / <see cref="CreateUdpSocket"/>: a socket stays in the namespace it
/// was created in, whichever thread uses it later) or as a program (<see cref="Start"/>).
/// </summary>
public sealed class LabHost
{
    internal LabHost(string name, NetworkNamespace ns, IPAddress address, IPAddress gateway)
    {
        Name = name;
        Namespace = ns;
        Address = address;
        Gateway = gateway;
    }

    /// <summary>For messages: the site name and host number.</summary>
    public string Name { get; }

    /// <summary>The host's namespace.</summary>
    public NetworkNamespace Namespace { get; }

    /// <summary>The host's own address (10.N.0.k behind a NAT; a public address for <see cref="NatType.Public"/>).</summary>
    public IPAddress Address { get; }

    /// <summary>Its default gateway (the site's router).</summary>
    public IPAddress Gateway { get; }

    /// <summary>Runs <paramref name="create"/> on a thread inside the namespace: sockets it creates live there.</summary>
    public T RunInside<T>(Func<T> create) => Namespace.RunInside(create);

    /// <summary>A UDP socket bound to <see cref="Address"/>:<paramref name="port"/> inside the namespace.</summary>
    public Socket CreateUdpSocket(int port = 0) => RunInside(() =>
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(Address, port));
        return socket;
    });

    /// <summary>A TCP socket inside the namespace, not yet bound.</summary>
    public Socket CreateTcpSocket() => Namespace.CreateSocket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

    /// <summary>Starts a program inside the namespace (e.g. the <c>pinhole</c> CLI).</summary>
    public ExternalProcess Start(string program, IEnumerable<string> arguments, IReadOnlyDictionary<string, string?>? environment = null) =>
        Namespace.Start(program, arguments, environment);

    /// <inheritdoc/>
    public override string ToString() => $"{Name} ({Address})";
}
