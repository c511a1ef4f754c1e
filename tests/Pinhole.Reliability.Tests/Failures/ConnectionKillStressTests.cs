using System.Buffers.Binary;
using System.Threading.Channels;
using Pinhole.Connections;
using Pinhole.Messaging;
using Pinhole.Messaging.MessagePack;
using Pinhole.Reliability.Tests.Support;
using Xunit.Abstractions;

namespace Pinhole.Reliability.Tests.Failures;

/// <summary>
/// Kills connections at random points (seeded, so every failure names a seed that reproduces it) while typed
/// channels send and receive in both directions, and checks the contract of every public async API involved:
/// each operation either succeeds or fails with an <see cref="IOException"/> (a <see cref="PeerException"/>, or a
/// <see cref="ChannelClosedException"/> carrying one) — never <see cref="ObjectDisposedException"/>,
/// <see cref="InvalidOperationException"/> or a hang — and what was received is a prefix of what was sent:
/// in order, each message once and intact.
/// </summary>
public sealed class ConnectionKillStressTests(ITestOutputHelper output)
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(60);

    public enum Kill
    {
        /// <summary>The transport under the dialer fails (reset).</summary>
        ResetLeft,
        /// <summary>Both transports fail at once.</summary>
        ResetBoth,
        /// <summary>The dialer disposes its connection (GoAway) under its own channels.</summary>
        DisposeLeft,
        /// <summary>The listener's message session is disposed under its channels.</summary>
        DisposeRightSession,
    }

    public static TheoryData<int> Seeds()
    {
        var data = new TheoryData<int>();
        for (var seed = 1; seed <= 48; seed++)
        {
            data.Add(seed);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public async Task Killing_a_connection_at_a_random_point_fails_every_operation_with_its_reason(int seed)
    {
        var random = new Random(seed);
        var kill = (Kill)(seed % 4);
        using var leftId = NodeIdentity.Generate();
        using var rightId = NodeIdentity.Generate();
        var (a, b) = DuplexPipeStream.CreatePair();
        var leftWire = new KillableStream(a);
        var rightWire = new KillableStream(b);
        var leftOptions = new PeerConnectionOptions { Identity = leftId, KeepAliveInterval = TimeSpan.Zero };
        var rightOptions = new PeerConnectionOptions { Identity = rightId, KeepAliveInterval = TimeSpan.Zero };
        var left = new PeerConnection(ConnectionUpgrader.StartSession(leftWire, isClient: true, leftOptions), rightId.PublicKey, leftOptions, false, "memory", null, null);
        var right = new PeerConnection(ConnectionUpgrader.StartSession(rightWire, isClient: false, rightOptions), leftId.PublicKey, rightOptions, true, "memory", null, null);
        var leftSession = MessageSession.Start(left);
        var rightSession = MessageSession.Start(right);

        var channels = 1 + random.Next(3);
        var perChannel = 50 + random.Next(150);
        var killAfter = random.Next(0, channels * perChannel);
        var received = 0;
        var killed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var work = new List<Task<string>>();
        for (var c = 0; c < channels; c++)
        {
            var (fromSession, toSession) = c % 2 == 0 ? (leftSession, rightSession) : (rightSession, leftSession);
            var sender = await fromSession.OpenSenderAsync(MessageCodec.Bytes).AsTask().WaitAsync(HangGuard);
            var receiver = await toSession.AcceptReceiverAsync(MessageCodec.Bytes).AsTask().WaitAsync(HangGuard);
            var sizes = new Random(seed * 1000 + c);
            var channel = c;
            work.Add(Task.Run(() => SendAsync(sender, seed, channel, perChannel, sizes)));
            work.Add(Task.Run(() => ReceiveAsync(receiver, seed, channel, () =>
            {
                if (Interlocked.Increment(ref received) == killAfter)
                {
                    killed.TrySetResult();
                }
            })));
        }
        // Operations that are pending when the connection dies: an accept with nothing to accept, an open.
        work.Add(Task.Run(() => Outcome("accept", async () => await leftSession.AcceptReceiverAsync(MessageCodec.Int32))));
        if (killAfter == 0)
        {
            killed.TrySetResult();
        }
        await Task.WhenAny(killed.Task, Task.WhenAll(work));
        switch (kill)
        {
            case Kill.ResetLeft:
                leftWire.Kill();
                break;
            case Kill.ResetBoth:
                leftWire.Kill();
                rightWire.Kill();
                break;
            case Kill.DisposeLeft:
                await left.DisposeAsync();
                break;
            case Kill.DisposeRightSession:
                await rightSession.DisposeAsync();
                break;
        }
        // Operations started after the loss fail the same way (on the side that certainly knows).
        var knowing = kill == Kill.DisposeRightSession ? rightSession : leftSession;
        work.Add(Task.Run(() => Outcome("open after the loss", async () => await knowing.OpenSenderAsync(MessageCodec.Int32))));

        string[] outcomes;
        try
        {
            outcomes = await Task.WhenAll(work).WaitAsync(HangGuard);
        }
        catch (TimeoutException)
        {
            throw new Xunit.Sdk.XunitException($"seed {seed} ({kill}): an operation hung after the connection was killed");
        }
        catch
        {
            // Some task failed with an exception outside the contract: report them all.
            var bad = work.Where(t => t.IsFaulted).Select(t => t.Exception!.InnerException!).ToList();
            throw new Xunit.Sdk.XunitException($"seed {seed} ({kill}): {string.Join("; ", bad.Select(e => e.GetType().Name + ": " + e.Message + "\n" + e.StackTrace))}");
        }
        output.WriteLine($"seed {seed} ({kill}, {channels} channels, killed after {killAfter} messages): {string.Join(", ", outcomes)}");
        await leftSession.DisposeAsync();
        await rightSession.DisposeAsync();
        await left.DisposeAsync();
        await right.DisposeAsync();
    }

    private static async Task<string> Outcome(string what, Func<Task> operation)
    {
        try
        {
            await operation();
            return what + " succeeded";
        }
        catch (Exception e) when (Allowed(e))
        {
            return what + " failed";
        }
    }

    private static async Task<string> SendAsync(Sender<byte[]?> sender, int seed, int channel, int count, Random sizes)
    {
        for (var i = 0; i < count; i++)
        {
            try
            {
                await sender.WriteAsync(Message(seed, channel, i, sizes.Next(4, sizes.Next(2) == 0 ? 512 : 40_000)));
            }
            catch (Exception e) when (Allowed(e))
            {
                return $"send failed at {i}";
            }
        }
        try
        {
            sender.Complete();
            await sender.Closed;
            return "sent all";
        }
        catch (Exception e) when (Allowed(e))
        {
            return "completion failed";
        }
    }

    private static async Task<string> ReceiveAsync(Receiver<byte[]?> receiver, int seed, int channel, Action onMessage)
    {
        var next = 0;
        try
        {
            await foreach (var message in receiver)
            {
                ArgumentNullException.ThrowIfNull(message);
                var index = BinaryPrimitives.ReadInt32LittleEndian(message);
                if (index != next || !message.AsSpan().SequenceEqual(Message(seed, channel, index, message.Length)))
                {
                    throw new InvalidDataException($"channel {channel}: expected message {next}, got {index} ({message.Length} bytes, intact: {message.AsSpan().SequenceEqual(Message(seed, channel, index, message.Length))})");
                }
                next++;
                onMessage();
            }
            return $"received all {next}";
        }
        catch (Exception e) when (Allowed(e))
        {
            return $"receive failed after {next}";
        }
    }

    private static byte[] Message(int seed, int channel, int index, int length)
    {
        var message = new byte[length];
        new Random(HashCode.Combine(seed, channel, index)).NextBytes(message);
        BinaryPrimitives.WriteInt32LittleEndian(message, index);
        return message;
    }

    /// <summary>The documented failures: an IOException, or a closed channel carrying one.</summary>
    private static bool Allowed(Exception e) => e is IOException
        || (e is ChannelClosedException && (e.InnerException is null or IOException or ChannelClosedException));
}
