// A js-libp2p yamux peer (@chainsafe/libp2p-yamux 6.x) over plain TCP, for interop tests.
// Usage: node yamux-echo-peer.mjs <node_modules dir> [<port to dial>]
// Without a port: listens on 127.0.0.1 (ephemeral port, printed as "PORT <n>") as the yamux server.
// With a port: dials 127.0.0.1:<port> as the yamux client. Per connection:
//  - echoes every inbound stream back and closes it;
//  - opens one stream of its own, writes "hello from js" and closes it.
import net from 'node:net'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

const modules = process.argv[2]
const load = (p) => import(pathToFileURL(path.join(modules, p)).href)
const { yamux } = await load('@chainsafe/libp2p-yamux/dist/src/index.js')
const { pipe } = await load('it-pipe/dist/src/index.js')
const { duplex } = await load('stream-to-it/dist/src/index.js')
const { defaultLogger } = await load('@libp2p/logger/dist/src/index.js')

function serve (socket, direction) {
  const muxer = yamux()({ logger: defaultLogger() }).createStreamMuxer({
    direction,
    onIncomingStream: (stream) => { pipe(stream, stream).catch((err) => console.error(err)) }
  })
  const connection = duplex(socket)
  // The muxer yields Uint8ArrayLists; the socket wants plain bytes.
  const flatten = async function * (source) { for await (const chunk of source) yield chunk.subarray() }
  pipe(connection, muxer, flatten, connection).catch((err) => console.error(err))
  const own = muxer.newStream()
  pipe([new TextEncoder().encode('hello from js')], own).catch((err) => console.error(err))
}

if (process.argv[3] === undefined) {
  const server = net.createServer((socket) => serve(socket, 'inbound'))
  server.listen(0, '127.0.0.1', () => { console.log(`PORT ${server.address().port}`) })
} else {
  const socket = net.connect(Number(process.argv[3]), '127.0.0.1', () => serve(socket, 'outbound'))
  socket.on('error', (err) => console.error(err))
}
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
