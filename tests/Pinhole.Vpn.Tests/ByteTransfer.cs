using Pinhole.Testing;

namespace Pinhole.Vpn.Tests;

/// <summary>A TCP transfer of known bytes between namespaces (python3 on both ends) that reports the SHA-256 received.</summary>
internal static class ByteTransfer
{
    private const string Receiver = """
        import hashlib, socket, sys
        family = socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET
        s = socket.socket(family, socket.SOCK_STREAM)
        s.bind((sys.argv[1], int(sys.argv[2])))
        s.listen(1)
        print('ready', flush=True)
        c, _ = s.accept()
        h = hashlib.sha256()
        n = 0
        while True:
            d = c.recv(1 << 20)
            if not d:
                break
            h.update(d)
            n += len(d)
        print(n, h.hexdigest(), flush=True)
        """;

    private const string Sender = """
        import random, socket, sys
        family = socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET
        r = random.Random(int(sys.argv[3]))
        data = r.randbytes(int(sys.argv[4]))
        s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=60)
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        s.recv(1)
        s.close()
        """;

    /// <summary>The bytes python's <c>random.Random(seed).randbytes(length)</c> gives, hashed (computed by python too, for certainty).</summary>
    internal static async Task<string> ExpectedAsync(int seed, int length)
    {
        var run = await ExternalProcess.RunAsync("python3", ["-c", $"import hashlib, random; print(hashlib.sha256(random.Random({seed}).randbytes({length})).hexdigest())"], TimeSpan.FromSeconds(60));
        return run.EnsureSuccess().StandardOutput.Trim();
    }

    /// <summary>Sends <paramref name="length"/> seeded random bytes from <paramref name="from"/> to <paramref name="address"/> in <paramref name="to"/>; returns "length sha256".</summary>
    internal static async Task<string> RunAsync(NetworkNamespace from, NetworkNamespace to, string address, int seed, int length)
    {
        await using var receiver = to.Start("python3", ["-c", Receiver, address, "5300"]);
        await receiver.WaitForLineAsync(l => l == "ready", TimeSpan.FromSeconds(20));
        (await from.TryExecAsync(TimeSpan.FromSeconds(120), "python3", "-c", Sender, address, "5300", seed.ToString(), length.ToString())).EnsureSuccess();
        return await receiver.WaitForLineAsync(l => l.Contains(' ', StringComparison.Ordinal), TimeSpan.FromSeconds(60));
    }
}
