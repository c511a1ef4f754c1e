using System.Net.Sockets;
using System.Text;

namespace Pinhole.Vpn;

/// <summary>
/// The control socket of a running interface (like WireGuard's /var/run/wireguard/wg0.sock): a Unix domain
/// socket, mode 0600, answering one request per connection. Request: a line "status". Answer: the
/// <see cref="VpnStatusJson"/> document, then the connection closes. Unknown requests get "error: ...".
/// </summary>
public sealed class VpnControlServer : IAsyncDisposable
{
    private const int MaxRequest = 256;
    private readonly Socket _socket;
    private readonly VpnInterface _vpn;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    private VpnControlServer(Socket socket, VpnInterface vpn, string path)
    {
        _socket = socket;
        _vpn = vpn;
        Path = path;
        _loop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>The socket's path.</summary>
    public string Path { get; }

    /// <summary>Starts answering at <paramref name="path"/> (a stale socket file left by a dead process is replaced).</summary>
    public static async Task<VpnControlServer> StartAsync(VpnInterface vpn, string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(vpn);
        ArgumentException.ThrowIfNullOrEmpty(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        if (File.Exists(path))
        {
            if (await VpnControlClient.IsAliveAsync(path, cancellationToken).ConfigureAwait(false))
            {
                throw new PeerException(PeerError.Refused, $"Another VPN process answers at {path}.");
            }
            File.Delete(path);
        }
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(path));
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
            socket.Listen(16);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new VpnControlServer(socket, vpn, path);
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _socket.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(Socket client)
    {
        using (client)
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                timeout.CancelAfter(TimeSpan.FromSeconds(5));
                byte[] buffer = new byte[MaxRequest];
                int length = 0;
                while (length < buffer.Length && Array.IndexOf(buffer, (byte)'\n', 0, length) < 0)
                {
                    int n = await client.ReceiveAsync(buffer.AsMemory(length), timeout.Token).ConfigureAwait(false);
                    if (n == 0)
                    {
                        break;
                    }
                    length += n;
                }
                string request = Encoding.ASCII.GetString(buffer, 0, length).Trim();
                string answer = request == "status" ? VpnStatusJson.Serialize(_vpn.GetStatus()) : $"error: unknown request '{request}' (expected 'status')";
                await client.SendAsync(Encoding.UTF8.GetBytes(answer + "\n"), timeout.Token).ConfigureAwait(false);
                client.Shutdown(SocketShutdown.Both);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // A client that went away or dawdled: nothing to do.
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _socket.Dispose();
        await _loop.ConfigureAwait(false);
        try
        {
            File.Delete(Path);
        }
        catch (IOException)
        {
        }
        _stop.Dispose();
    }
}

/// <summary>Asks a running interface for its status over its control socket.</summary>
public static class VpnControlClient
{
    /// <summary>Largest answer read.</summary>
    public const int MaxAnswer = 16 << 20;

    /// <summary>The status of the interface answering at <paramref name="path"/>; <see cref="PeerException"/> (<see cref="PeerError.Unreachable"/>) if none does.</summary>
    public static async Task<VpnStatus> GetStatusAsync(string path, CancellationToken cancellationToken = default)
    {
        string answer = await RequestAsync(path, "status", cancellationToken).ConfigureAwait(false);
        if (answer.StartsWith("error:", StringComparison.Ordinal))
        {
            throw new PeerException(PeerError.ProtocolViolation, answer);
        }
        try
        {
            return VpnStatusJson.Deserialize(answer);
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new PeerException(PeerError.ProtocolViolation, $"The VPN at {path} answered something that is not a status: {e.Message}", e);
        }
    }

    internal static async Task<bool> IsAliveAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static async Task<string> RequestAsync(string path, string request, CancellationToken cancellationToken)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            throw new PeerException(PeerError.Unreachable, $"No VPN answers at {path} ({e.SocketErrorCode}): is 'pinhole vpn up' running with this --home?", e);
        }
        await socket.SendAsync(Encoding.ASCII.GetBytes(request + "\n"), cancellationToken).ConfigureAwait(false);
        using var answer = new MemoryStream();
        byte[] buffer = new byte[16384];
        while (true)
        {
            int n = await socket.ReceiveAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                break;
            }
            if (answer.Length + n > MaxAnswer)
            {
                throw new PeerException(PeerError.LimitExceeded, $"The answer from {path} exceeds {MaxAnswer} bytes.");
            }
            answer.Write(buffer, 0, n);
        }
        return Encoding.UTF8.GetString(answer.GetBuffer(), 0, (int)answer.Length).Trim();
    }
}
