using System.Buffers;
using System.Net;
using System.Threading.Channels;
using Pinhole.Dtls;

namespace Pinhole.Nat;

public sealed partial class UdpMux
{
    /// <summary>The DTLS view. Its receive drives the socket while it reads (see the class remarks).</summary>
    private sealed class DtlsView(UdpMux mux) : IDatagramBind
    {
        private int _disposed;

        public EndPoint LocalEndPoint => mux.LocalEndPoint;

        public ValueTask SendPacketAsync(EndPoint remote, ReadOnlyMemory<byte> packet, CancellationToken cancellationToken = default)
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            return mux.SendAsync(remote, packet, cancellationToken);
        }

        public async ValueTask<DatagramReceiveResult> ReceivePacketAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            if (TryDequeue(buffer, out DatagramReceiveResult queued))
            {
                return queued;
            }
            mux._dtlsAttached = true;
            try
            {
                await mux._pump.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                Detach();
                throw;
            }
            try
            {
                while (true)
                {
                    if (TryDequeue(buffer, out queued))
                    {
                        return queued;
                    }
                    ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
                    DatagramReceiveResult r = await mux._inner.ReceivePacketAsync(buffer, cancellationToken).ConfigureAwait(false);
                    if (mux.Dispatch(r.RemoteEndPoint, buffer.Span[..r.Length], dtlsInline: true))
                    {
                        return mux._aliases.IsEmpty ? r : r with { RemoteEndPoint = mux.Alias(r.RemoteEndPoint) };
                    }
                }
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or ChannelClosedException)
            {
                Detach();
                throw;
            }
            finally
            {
                mux._pump.Release();
            }
        }

        public ValueTask<Libp2pPublicKey?> ObtainPublicKeyAsync(EndPoint remote, CancellationToken cancellationToken = default) =>
            remote is RoutedEndPoint ? ValueTask.FromResult<Libp2pPublicKey?>(null) : mux._inner.ObtainPublicKeyAsync(remote, cancellationToken);

        public ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                Interlocked.CompareExchange(ref mux._dtls, null, this);
                Detach();
            }
            return ValueTask.CompletedTask;
        }

        private void Detach()
        {
            mux._dtlsAttached = false;
            try
            {
                mux._wakeBackground.Release();
            }
            catch (ObjectDisposedException)
            {
            }
        }

        private bool TryDequeue(Memory<byte> buffer, out DatagramReceiveResult result)
        {
            if (mux._dtlsQueue.Reader.TryRead(out QueuedDatagram item))
            {
                int length = Math.Min(item.Length, buffer.Length);
                item.Buffer.AsSpan(0, length).CopyTo(buffer.Span);
                ArrayPool<byte>.Shared.Return(item.Buffer);
                result = new DatagramReceiveResult(item.Source, length);
                return true;
            }
            result = default;
            return false;
        }
    }
}
