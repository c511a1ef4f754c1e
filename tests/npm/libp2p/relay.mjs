// js-libp2p circuit relay v2 roles for Pinhole's relay interop tests (tests/Pinhole.Nat.Tests/Relay).
// Run with node_modules/.bin/node (Node 22). Every stdout line is one JSON object with an `event` field.
//
//   relay.mjs relay [--host H] [--port P] [--no-default-limit] [--duration-ms N] [--data-bytes N]
//                   [--max-reservations N] [--ttl-ms N]
//       A relay server (circuitRelayServer 4.2.13). Prints {"event":"listening","peerId","addrs"},
//       {"event":"reserved","peer","expire","limit"} per RESERVE it accepts, connection events.
//   relay.mjs client --relay <relay multiaddr> [--host H] [--echo-limited] [--dcutr --port P]
//       Reserves a slot on the relay (listens on <relay>/p2p-circuit) and prints {"event":"reserved","addrs"};
//       then {"event":"connection","remoteAddr","limits",...} per relayed connection and serves
//       /pinhole-test/echo/1.0.0 (on limited connections only with --echo-limited). With --dcutr it also listens on
//       /ip4/H/tcp/P, announces that address (js sends only announced/verified addresses in DCUtR CONNECT) and runs
//       @libp2p/dcutr, which starts the upgrade as the inbound side of each relayed connection.
//   relay.mjs dial <circuit multiaddr> [--count N] [--echo BYTES] [--no-identify] [--hold MS]
//       Dials through the relay, prints {"event":"connected","limits",...}, pings N times, echoes BYTES
//       (opening the echo stream with runOnLimitedConnection), identifies, waits MS, prints {"event":"done"}.
//   relay.mjs vectors --peer <peerId> --addr <multiaddr>
//       js's own protobuf encodings of hop/stop (and DCUtR HolePunch) messages (hex), for byte-exact comparison.
//   relay.mjs decode hop|stop <hex>...
//       js's decoding of each message (bytes as hex, bigints as strings).
//   relay.mjs seal-voucher <peerId> <expiration>  /  relay.mjs open-voucher <hex>
//       A reservation voucher sealed by a fresh js relay key / opened and certified by js.
// Stops on stdin EOF or SIGTERM. Traffic goes only to the addresses the test passes.

import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { dcutr } from '@libp2p/dcutr'
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { peerIdFromPrivateKey, peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id'
import { RecordEnvelope } from '@libp2p/peer-record'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { tls } from '@libp2p/tls'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { randomBytes } from 'node:crypto'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

// Internals of the relay package (its export map hides them); imported by path for vectors and vouchers.
const relayDist = join(dirname(fileURLToPath(import.meta.url)), 'node_modules/@libp2p/circuit-relay-v2/dist/src')
const pb = await import(pathToFileURL(join(relayDist, 'pb/index.js')).href)
const { ReservationVoucherRecord } = await import(pathToFileURL(join(relayDist, 'server/reservation-voucher.js')).href)
const dcutrPb = await import(pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), 'node_modules/@libp2p/dcutr/dist/src/pb/message.js')).href)

const ECHO_PROTOCOL = '/pinhole-test/echo/1.0.0'
const ECHO_CHUNK = 16 * 1024

// Bytes as hex and bigints as strings. The replacer looks at the raw value: Buffer's toJSON runs before it sees `v`.
function jsonReplacer (key, v) {
  const raw = this[key]
  if (typeof raw === 'bigint') return raw.toString()
  if (raw instanceof Uint8Array) return Buffer.from(raw).toString('hex')
  return v
}

function emit (obj) {
  process.stdout.write(JSON.stringify(obj, jsonReplacer) + '\n')
}

function fail (err) {
  emit({ event: 'error', message: err?.message ?? String(err), name: err?.name })
  process.exit(1)
}

function parseArgs (argv) {
  const args = { mode: argv[0], positional: [], host: '127.0.0.1', port: 0, count: 1, echo: 0, identify: true, hold: 0 }
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]
    const next = () => argv[++i]
    if (a === '--host') args.host = next()
    else if (a === '--port') args.port = Number.parseInt(next(), 10)
    else if (a === '--no-default-limit') args.noDefaultLimit = true
    else if (a === '--duration-ms') args.durationMs = Number.parseInt(next(), 10)
    else if (a === '--data-bytes') args.dataBytes = BigInt(next())
    else if (a === '--max-reservations') args.maxReservations = Number.parseInt(next(), 10)
    else if (a === '--ttl-ms') args.ttlMs = Number.parseInt(next(), 10)
    else if (a === '--relay') args.relay = next()
    else if (a === '--echo-limited') args.echoLimited = true
    else if (a === '--dcutr') args.dcutr = true
    else if (a === '--count') args.count = Number.parseInt(next(), 10)
    else if (a === '--echo') args.echo = Number.parseInt(next(), 10)
    else if (a === '--no-identify') args.identify = false
    else if (a === '--hold') args.hold = Number.parseInt(next(), 10)
    else if (a === '--peer') args.peer = next()
    else if (a === '--addr') args.addr = next()
    else if (a.startsWith('--')) throw new Error(`unknown argument ${a}`)
    else args.positional.push(a)
  }
  return args
}

function limitsToJson (limits) {
  if (limits == null) return null
  return { bytes: limits.bytes?.toString() ?? null, seconds: limits.seconds ?? null }
}

function connectionToJson (connection) {
  return {
    remotePeer: connection.remotePeer.toString(),
    remoteAddr: connection.remoteAddr.toString(),
    direction: connection.direction,
    encryption: connection.encryption ?? null,
    multiplexer: connection.multiplexer ?? null,
    limits: limitsToJson(connection.limits)
  }
}

async function serveEcho (stream, connection) {
  let bytes = 0
  try {
    for await (const buf of stream) {
      bytes += buf.byteLength
      if (!stream.send(buf)) await stream.onDrain()
    }
    await stream.close()
    emit({ event: 'echo-served', remotePeer: connection.remotePeer.toString(), bytes })
  } catch (err) {
    emit({ event: 'echo-failed', remotePeer: connection.remotePeer.toString(), bytes, message: err?.message ?? String(err) })
    stream.abort(err)
  }
}

async function runEcho (connection, total) {
  const data = new Uint8Array(randomBytes(total))
  const stream = await connection.newStream(ECHO_PROTOCOL, { signal: AbortSignal.timeout(10_000), runOnLimitedConnection: true })
  const received = []
  const reading = (async () => {
    for await (const buf of stream) received.push(buf instanceof Uint8Array ? buf : buf.subarray())
  })()
  for (let offset = 0; offset < total; offset += ECHO_CHUNK) {
    if (!stream.send(data.subarray(offset, Math.min(total, offset + ECHO_CHUNK)))) await stream.onDrain()
  }
  await stream.close()
  await reading
  const echoed = Buffer.concat(received)
  return { bytes: total, receivedBytes: echoed.length, ok: echoed.equals(Buffer.from(data)) }
}

function stopOnStdinEnd (node) {
  let stopping = false
  const stop = async () => {
    if (stopping) return
    stopping = true
    await node.stop().catch(() => {})
    emit({ event: 'stopped' })
    process.exit(0)
  }
  process.stdin.on('end', stop)
  process.stdin.on('error', stop)
  process.stdin.resume()
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

function logConnections (node) {
  node.addEventListener('connection:open', evt => emit({ event: 'connection', ...connectionToJson(evt.detail) }))
  node.addEventListener('connection:close', evt => emit({ event: 'connection-closed', remotePeer: evt.detail.remotePeer.toString(), remoteAddr: evt.detail.remoteAddr.toString() }))
}

async function relay (args) {
  const reservations = {}
  if (args.noDefaultLimit) reservations.applyDefaultLimit = false
  if (args.durationMs != null) reservations.defaultDurationLimit = args.durationMs
  if (args.dataBytes != null) reservations.defaultDataLimit = args.dataBytes
  if (args.maxReservations != null) reservations.maxReservations = args.maxReservations
  if (args.ttlMs != null) reservations.reservationTtl = args.ttlMs
  const node = await createLibp2p({
    start: false,
    privateKey: await generateKeyPair('Ed25519'),
    addresses: { listen: [`/ip4/${args.host}/tcp/${args.port}`] },
    transports: [tcp()],
    connectionEncrypters: [tls()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
    services: { identify: identify(), ping: ping(), relay: circuitRelayServer({ reservations }) }
  })
  const store = node.services.relay.reservationStore
  const reserve = store.reserve.bind(store)
  store.reserve = (peer, addr, limit) => {
    const result = reserve(peer, addr, limit)
    emit({ event: 'reserved', peer: peer.toString(), status: result.status, expire: result.expire ?? null, limit: store.get(peer)?.limit ?? null })
    return result
  }
  logConnections(node)
  await node.start()
  emit({ event: 'listening', peerId: node.peerId.toString(), addrs: node.getMultiaddrs().map(a => a.toString()) })
  stopOnStdinEnd(node)
}

async function client (args) {
  if (args.relay == null) throw new Error('client needs --relay <multiaddr>')
  const direct = `/ip4/${args.host}/tcp/${args.port}`
  const services = { identify: identify(), ping: ping() }
  if (args.dcutr) services.dcutr = dcutr()
  const node = await createLibp2p({
    start: false,
    privateKey: await generateKeyPair('Ed25519'),
    addresses: args.dcutr
      ? { listen: [`${args.relay}/p2p-circuit`, direct], appendAnnounce: [direct] }
      : { listen: [`${args.relay}/p2p-circuit`] },
    transports: [tcp(), circuitRelayTransport()],
    connectionEncrypters: [tls()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
    services
  })
  await node.handle(ECHO_PROTOCOL, serveEcho, { runOnLimitedConnection: args.echoLimited === true })
  logConnections(node)
  await node.start()
  const deadline = Date.now() + 20_000
  let circuit = []
  while (Date.now() < deadline) {
    circuit = node.getMultiaddrs().filter(a => a.toString().includes('/p2p-circuit'))
    if (circuit.length > 0) break
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  if (circuit.length === 0) throw new Error('no reservation on the relay within 20 s')
  emit({ event: 'reserved', peerId: node.peerId.toString(), addrs: circuit.map(a => a.toString()) })
  stopOnStdinEnd(node)
}

async function dial (args) {
  const target = multiaddr(args.positional[0])
  const node = await createLibp2p({
    privateKey: await generateKeyPair('Ed25519'),
    transports: [tcp(), circuitRelayTransport()],
    connectionEncrypters: [tls()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
    services: { identify: identify({ runOnConnectionOpen: false }), ping: ping() }
  })
  await node.handle(ECHO_PROTOCOL, serveEcho, { runOnLimitedConnection: true })
  const connection = await node.dial(target, { signal: AbortSignal.timeout(15_000) })
  emit({ event: 'connected', localPeerId: node.peerId.toString(), ...connectionToJson(connection) })
  for (let i = 0; i < args.count; i++) {
    const stream = await connection.newStream('/ipfs/ping/1.0.0', { runOnLimitedConnection: true, signal: AbortSignal.timeout(10_000) })
    await stream.close()
    // close() resolves once our end is closed, but the connection counts the stream until the peer's close arrives,
    // and the ping service allows one outbound ping stream: without this wait, a peer that answers the next
    // stream's negotiation before it closes this one (streams are independent) fails the ping with
    // TooManyOutboundProtocolStreamsError.
    await untilClosed(stream, 10_000)
    const rtt = await node.services.ping.ping(target, { signal: AbortSignal.timeout(10_000) })
    emit({ event: 'ping', rtt })
  }
  if (args.echo > 0) emit({ event: 'echo', ...await runEcho(connection, args.echo) })
  if (args.identify) {
    const result = await node.services.identify.identify(connection, { signal: AbortSignal.timeout(10_000) })
    emit({ event: 'identify', peerId: result.peerId.toString(), agentVersion: result.agentVersion ?? null, protocols: result.protocols, observedAddr: result.observedAddr?.toString() ?? null })
  }
  if (args.hold > 0) await new Promise(resolve => setTimeout(resolve, args.hold))
  emit({ event: 'done', status: connection.status })
  await node.stop()
  process.exit(0)
}

async function untilClosed (stream, ms) {
  if (stream.status !== 'open' && stream.status !== 'closing') return
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`stream ${stream.id} still ${stream.status} after ${ms} ms`)), ms)
    stream.addEventListener('close', () => { clearTimeout(timer); resolve() }, { once: true })
  })
}

async function vectors (args) {
  const peer = peerIdFromString(args.peer).toMultihash().bytes
  const addr = multiaddr(args.addr).bytes
  const key = await generateKeyPair('Ed25519')
  const relayId = peerIdFromPrivateKey(key)
  const envelope = await RecordEnvelope.seal(new ReservationVoucherRecord({ peer: peerIdFromString(args.peer), relay: relayId, expiration: 1700000000 }), key)
  const out = {
    reserve: pb.HopMessage.encode({ type: pb.HopMessage.Type.RESERVE }),
    connect: pb.HopMessage.encode({ type: pb.HopMessage.Type.CONNECT, peer: { id: peer, addrs: [addr] } }),
    hopOk: pb.HopMessage.encode({
      type: pb.HopMessage.Type.STATUS,
      status: pb.Status.OK,
      reservation: {
        expire: 1700000000n,
        addrs: [addr],
        voucher: { publicKey: publicKeyToProtobuf(envelope.publicKey), payloadType: envelope.payloadType, payload: { relay: relayId.toMultihash().bytes, peer, expiration: 1700000000n }, signature: envelope.signature }
      },
      limit: { duration: 120, data: 131072n }
    }),
    noReservation: pb.HopMessage.encode({ type: pb.HopMessage.Type.STATUS, status: pb.Status.NO_RESERVATION }),
    stopConnect: pb.StopMessage.encode({ type: pb.StopMessage.Type.CONNECT, peer: { id: peer, addrs: [] }, limit: { duration: 120, data: 131072n } }),
    stopOk: pb.StopMessage.encode({ type: pb.StopMessage.Type.STATUS, status: pb.Status.OK }),
    voucherEnvelope: envelope.marshal(),
    relay: relayId.toString(),
    holePunchConnect: dcutrPb.HolePunch.encode({ type: dcutrPb.HolePunch.Type.CONNECT, observedAddresses: [addr] }),
    holePunchSync: dcutrPb.HolePunch.encode({ type: dcutrPb.HolePunch.Type.SYNC, observedAddresses: [] })
  }
  emit({ event: 'vectors', ...out })
}

function bytesJson (message) {
  return JSON.parse(JSON.stringify(message, jsonReplacer))
}

async function decode (args) {
  const [kind, ...hexes] = args.positional
  const codec = kind === 'hop' ? pb.HopMessage : kind === 'stop' ? pb.StopMessage : null
  if (codec == null) throw new Error('decode hop|stop <hex>...')
  for (const hex of hexes) {
    try {
      emit({ event: 'decoded', message: bytesJson(codec.decode(Buffer.from(hex, 'hex'))) })
    } catch (err) {
      emit({ event: 'decode-error', message: err?.message ?? String(err) })
    }
  }
}

async function sealVoucher (args) {
  const key = await generateKeyPair('Ed25519')
  const relayId = peerIdFromPrivateKey(key)
  const record = new ReservationVoucherRecord({ peer: peerIdFromString(args.positional[0]), relay: relayId, expiration: Number(args.positional[1]) })
  const envelope = await RecordEnvelope.seal(record, key)
  emit({ event: 'voucher', relay: relayId.toString(), envelope: envelope.marshal() })
}

async function openVoucher (args) {
  const envelope = await RecordEnvelope.openAndCertify(Buffer.from(args.positional[0], 'hex'), 'libp2p-relay-rsvp')
  const payload = pb.ReservationVoucher.decode(envelope.payload)
  const signer = peerIdFromPublicKey(envelope.publicKey)
  emit({
    event: 'voucher-ok',
    signer: signer.toString(),
    payloadType: envelope.payloadType,
    relay: peerIdFromPublicKey(envelope.publicKey).equals(payload.relay) ? signer.toString() : Buffer.from(payload.relay).toString('hex'),
    peer: Buffer.from(payload.peer).toString('hex'),
    expiration: payload.expiration
  })
}

const modes = { relay, client, dial, vectors, decode, 'seal-voucher': sealVoucher, 'open-voucher': openVoucher }

try {
  const args = parseArgs(process.argv.slice(2))
  const mode = modes[args.mode]
  if (mode == null) throw new Error(`usage: relay.mjs ${Object.keys(modes).join('|')} ...`)
  await mode(args)
} catch (err) {
  fail(err)
}
