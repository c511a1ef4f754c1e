// A js-libp2p peer that Pinhole's interop tests drive: TCP + /tls/1.0.0 + /yamux/1.0.0, with the
// /ipfs/ping/1.0.0 and /ipfs/id/1.0.0 services. Run it with node_modules/.bin/node (Node 22).
//
//   peer.mjs listen [--key-type T] [--port P]
//       Listens on /ip4/127.0.0.1/tcp/P (default 0 = any free port), prints one line
//       {"event":"listening","peerId":...,"addrs":[...]} and then one JSON line per inbound
//       connection, ping and identify. Exits on stdin EOF or SIGTERM/SIGINT.
//   peer.mjs dial <multiaddr> [--count N] [--key-type T] [--no-identify]
//       Dials, pings N times (default 3) printing {"event":"ping","rtt":ms}, runs identify and prints
//       {"event":"identify",...}, prints {"event":"done"} and exits 0. On failure prints
//       {"event":"error","message":...} and exits 1.
//
//   peer.mjs verify-cert <file> [--expect <peerId>]
//       Runs @libp2p/tls's own certificate check (the one a TLS handshake runs) on a PEM or DER
//       certificate and prints {"event":"cert-ok","peerId":...} or {"event":"error",...} (exit 1).
//   peer.mjs make-cert [--key-type T]
//       Prints {"event":"cert","peerId":...,"keyType":...,"certPem":...,"keyPem":...}: a certificate
//       exactly as js-libp2p makes it for a handshake, for offline tests of Pinhole's verifier.
//
// Both listen and dial modes also serve /pinhole-test/echo/1.0.0 (echo every byte until the remote's
// FIN, then close; prints {"event":"echo-served","bytes":N}). `dial ... --echo BYTES` sends that many
// random bytes on one echo stream after the pings, checks they come back, prints {"event":"echo",...}.
//
// --key-type: Ed25519 (default), secp256k1, RSA or ECDSA (ECDSA fails: see README.md).
// Only loopback traffic: no discovery, bootstrap, relay, autonat, upnp, DNS or connection monitor.
// Every line on stdout is one JSON object; js-libp2p's own debug log (DEBUG=libp2p:*) goes to stderr.

import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { peerIdFromPrivateKey, peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id'
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { tls } from '@libp2p/tls'
import { generateCertificate, verifyPeerCertificate } from '@libp2p/tls/utils'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { readFileSync } from 'node:fs'
import { X509Certificate, randomBytes } from 'node:crypto'

function emit (obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

function fail (err) {
  emit({ event: 'error', message: err?.message ?? String(err), name: err?.name })
  process.exit(1)
}

function parseArgs (argv) {
  const args = { mode: argv[0], target: undefined, count: 3, keyType: 'Ed25519', port: 0, identify: true, echo: 0, addrs: [] }
  let i = 1
  if (['dial', 'verify-cert', 'seal-record', 'open-record'].includes(args.mode)) {
    args.target = argv[i++]
    if (args.target == null) throw new Error(`${args.mode} needs an argument`)
  } else if (args.mode !== 'listen' && args.mode !== 'make-cert') {
    throw new Error('usage: peer.mjs listen | dial <multiaddr> | verify-cert <file> | make-cert | seal-record <seq> | open-record <hex> [--addr A] [--count N] [--key-type T] [--port P] [--no-identify] [--expect <peerId>]')
  }
  for (; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--count') args.count = Number.parseInt(argv[++i], 10)
    else if (a === '--key-type') args.keyType = argv[++i]
    else if (a === '--port') args.port = Number.parseInt(argv[++i], 10)
    else if (a === '--no-identify') args.identify = false
    else if (a === '--expect') args.expect = argv[++i]
    else if (a === '--echo') args.echo = Number.parseInt(argv[++i], 10)
    else if (a === '--addr') args.addrs.push(argv[++i])
    else throw new Error(`unknown argument ${a}`)
  }
  if (!Number.isInteger(args.count) || args.count < 0) throw new Error('--count must be a non-negative integer')
  if (!Number.isInteger(args.echo) || args.echo < 0) throw new Error('--echo must be a non-negative integer')
  return args
}

function identifyToJson (result) {
  return {
    peerId: result.peerId.toString(),
    protocols: result.protocols,
    observedAddr: result.observedAddr?.toString() ?? null,
    agentVersion: result.agentVersion ?? null,
    protocolVersion: result.protocolVersion ?? null,
    listenAddrs: result.listenAddrs.map(a => a.toString()),
    signedPeerRecord: result.signedPeerRecord != null
  }
}

async function newKey (keyType) {
  return keyType === 'RSA' ? generateKeyPair('RSA', 2048) : generateKeyPair(keyType)
}

async function createNode (args) {
  const privateKey = await newKey(args.keyType)
  const node = await createLibp2p({
    start: false,
    privateKey,
    addresses: { listen: args.mode === 'listen' ? [`/ip4/127.0.0.1/tcp/${args.port}`] : [] },
    transports: [tcp()],
    connectionEncrypters: [tls()],
    streamMuxers: [yamux()],
    // The connection monitor pings every peer periodically; tests want only the pings they ask for.
    connectionMonitor: { enabled: false },
    services: {
      ping: ping(),
      // The listener identifies whoever dials it (that is how a test sees what Pinhole sends);
      // the dialer runs identify explicitly once, after its pings.
      identify: identify({ runOnConnectionOpen: args.mode === 'listen' })
    }
  })

  // Log inbound ping/identify streams by wrapping the bound handlers before start() registers them.
  const pingService = node.services.ping
  const handlePing = pingService.handlePing
  pingService.handlePing = (stream, connection) => {
    emit({ event: 'inbound-ping', remotePeer: connection.remotePeer.toString() })
    return handlePing(stream, connection)
  }
  const identifyService = node.services.identify
  const handleIdentify = identifyService.handleProtocol
  identifyService.handleProtocol = (stream, connection) => {
    emit({ event: 'inbound-identify', remotePeer: connection.remotePeer.toString() })
    return handleIdentify(stream, connection)
  }
  await node.handle(ECHO_PROTOCOL, serveEcho, { runOnLimitedConnection: false })
  return node
}

const ECHO_PROTOCOL = '/pinhole-test/echo/1.0.0'
const ECHO_CHUNK = 64 * 1024

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

// Sends `total` random bytes on a new echo stream while reading the echo; resolves when all came back.
async function runEcho (connection, total) {
  const data = new Uint8Array(randomBytes(total))
  const start = Date.now()
  const stream = await connection.newStream(ECHO_PROTOCOL, { signal: AbortSignal.timeout(10_000) })
  const received = []
  let receivedBytes = 0
  const reading = (async () => {
    for await (const buf of stream) {
      const bytes = buf instanceof Uint8Array ? buf : buf.subarray()
      received.push(bytes)
      receivedBytes += bytes.byteLength
    }
  })()
  for (let offset = 0; offset < total; offset += ECHO_CHUNK) {
    if (!stream.send(data.subarray(offset, Math.min(total, offset + ECHO_CHUNK)))) await stream.onDrain()
  }
  await stream.close()
  await reading
  const echoed = Buffer.concat(received)
  return { bytes: total, receivedBytes, ok: echoed.equals(Buffer.from(data)), ms: Date.now() - start }
}

function connectionToJson (connection) {
  return {
    remotePeer: connection.remotePeer.toString(),
    remoteAddr: connection.remoteAddr.toString(),
    direction: connection.direction,
    encryption: connection.encryption ?? null,
    multiplexer: connection.multiplexer ?? null
  }
}

async function listen (args) {
  const node = await createNode(args)
  node.addEventListener('connection:open', evt => emit({ event: 'connection', ...connectionToJson(evt.detail) }))
  node.addEventListener('connection:close', evt => emit({ event: 'connection-closed', remotePeer: evt.detail.remotePeer.toString() }))
  node.addEventListener('peer:identify', evt => emit({ event: 'identify', ...identifyToJson(evt.detail) }))
  await node.start()
  emit({ event: 'listening', peerId: node.peerId.toString(), addrs: node.getMultiaddrs().map(a => a.toString()) })

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

async function dial (args) {
  const node = await createNode(args)
  await node.start()
  const target = multiaddr(args.target)
  const connection = await node.dial(target, { signal: AbortSignal.timeout(10_000) })
  emit({ event: 'connected', localPeerId: node.peerId.toString(), ...connectionToJson(connection) })
  for (let i = 0; i < args.count; i++) {
    const rtt = await node.services.ping.ping(target, { signal: AbortSignal.timeout(10_000) })
    emit({ event: 'ping', rtt })
  }
  if (args.echo > 0) {
    emit({ event: 'echo', ...await runEcho(connection, args.echo) })
  }
  if (args.identify) {
    const result = await node.services.identify.identify(connection, { signal: AbortSignal.timeout(10_000) })
    emit({ event: 'identify', ...identifyToJson(result) })
  }
  await node.stop()
  emit({ event: 'done' })
  process.exit(0)
}

async function verifyCert (args) {
  const bytes = readFileSync(args.target)
  const der = bytes.includes('-----BEGIN') ? new X509Certificate(bytes).raw : bytes
  const expected = args.expect == null ? undefined : peerIdFromString(args.expect)
  const peerId = await verifyPeerCertificate(new Uint8Array(der), expected)
  emit({ event: 'cert-ok', peerId: peerId.toString() })
}

async function makeCert (args) {
  const privateKey = await newKey(args.keyType)
  const { cert, key } = await generateCertificate(privateKey)
  emit({ event: 'cert', peerId: peerIdFromPrivateKey(privateKey).toString(), keyType: privateKey.type, certPem: cert, keyPem: key })
}

async function sealRecord (args) {
  const privateKey = await newKey(args.keyType)
  const peerId = peerIdFromPrivateKey(privateKey)
  const record = new PeerRecord({ peerId, seqNumber: BigInt(args.target), multiaddrs: args.addrs.map(a => multiaddr(a)) })
  const envelope = await RecordEnvelope.seal(record, privateKey)
  emit({ event: 'record', peerId: peerId.toString(), envelope: Buffer.from(envelope.marshal()).toString('hex') })
}

async function openRecord (args) {
  const envelope = await RecordEnvelope.openAndCertify(Buffer.from(args.target, 'hex'), PeerRecord.DOMAIN)
  const record = PeerRecord.createFromProtobuf(envelope.payload)
  const signer = peerIdFromPublicKey(envelope.publicKey)
  if (!signer.equals(record.peerId)) throw new Error(`record for ${record.peerId} is signed by ${signer}`)
  emit({ event: 'record-ok', peerId: record.peerId.toString(), seq: record.seqNumber.toString(), addrs: record.multiaddrs.map(a => a.toString()) })
}

const modes = { listen, dial, 'verify-cert': verifyCert, 'make-cert': makeCert, 'seal-record': sealRecord, 'open-record': openRecord }

try {
  const args = parseArgs(process.argv.slice(2))
  await modes[args.mode](args)
} catch (err) {
  fail(err)
}
