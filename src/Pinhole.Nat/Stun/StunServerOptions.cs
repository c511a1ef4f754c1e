using Microsoft.Extensions.Logging;
using Pinhole.Dtls;

namespace Pinhole.Nat;

/// <summary>
/// Settings of a <see cref="StunServer"/>. With one bind it answers Binding requests (XOR-MAPPED-ADDRESS,
/// RESPONSE-ORIGIN). With four binds — two IP addresses × two ports — it also serves RFC 5780 behaviour
/// discovery: OTHER-ADDRESS in every response, and CHANGE-REQUEST answered from the other IP and/or port.
/// </summary>
public sealed class StunServerOptions
{
    /// <summary>
    /// The sockets: <c>[primary]</c>, or <c>[A1:P1, A1:P2, A2:P1, A2:P2]</c> (primary, other port, other IP,
    /// other IP and port) for RFC 5780. Each must report an <see cref="System.Net.IPEndPoint"/>. Required.
    /// </summary>
    public IReadOnlyList<IDatagramBind>? Binds { get; set; }

    /// <summary>If false (default), disposing the server disposes the binds.</summary>
    public bool LeaveBindsOpen { get; set; }

    /// <summary>SOFTWARE in every response; null for none. Default "pinhole".</summary>
    public string? Software { get; set; } = "pinhole";

    /// <summary>Logging; default none.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    internal void Validate()
    {
        if (Binds is null || (Binds.Count != 1 && Binds.Count != 4))
        {
            throw new ArgumentException("StunServerOptions.Binds needs one bind, or four (two addresses × two ports) for RFC 5780.", nameof(Binds));
        }
        foreach (IDatagramBind bind in Binds)
        {
            if (bind?.LocalEndPoint is not System.Net.IPEndPoint)
            {
                throw new ArgumentException("Every STUN server bind must have an IP end point.", nameof(Binds));
            }
        }
        if (Binds.Count == 4)
        {
            var e = Binds.Select(b => (System.Net.IPEndPoint)b.LocalEndPoint).ToArray();
            bool ok = e[0].Address.Equals(e[1].Address) && e[2].Address.Equals(e[3].Address) && !e[0].Address.Equals(e[2].Address)
                && e[0].Port == e[2].Port && e[1].Port == e[3].Port && e[0].Port != e[1].Port;
            if (!ok)
            {
                throw new ArgumentException("The four STUN server binds must be A1:P1, A1:P2, A2:P1, A2:P2 with A1 ≠ A2 and P1 ≠ P2.", nameof(Binds));
            }
        }
        if (Software is { Length: > 127 })
        {
            throw new ArgumentException("SOFTWARE is at most 127 characters.", nameof(Software));
        }
    }
}
