// A js-libp2p 3 peer (TCP, Noise, Yamux, identify, GossipSub) for interop with p2pfl.
//
//   node peer.mjs fetch-announced ADDR TOPIC [TIMEOUT_S]
//       dial ADDR, subscribe TOPIC, wait for an announcement (p2pfl's JSON), fetch its
//       blob over /p2pfl/blob/1 from the dialed peer and check keccak256 == digest
//   node peer.mjs fetch ADDR DIGEST_HEX SIZE [REPEATS]
//       fetch a blob directly, REPEATS times on one connection (for throughput)
//   node peer.mjs serve SIZE
//       listen on 127.0.0.1, serve one random blob of SIZE bytes over /p2pfl/blob/1;
//       prints {"addr", "digest"}, serves until stdin closes
//
// Each mode prints one JSON line on stdout. /p2pfl/blob/1 (src/p2pfl/net/blob.py):
// request = version byte 1 + 32-byte digest; response = status byte (0 found), then an
// 8-byte big-endian length and exactly that many bytes.

import './polyfill.mjs'
import { randomBytes } from 'node:crypto'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { keccak_256 as keccak256 } from '@noble/hashes/sha3.js'
import { createLibp2p } from 'libp2p'

const PROTOCOL = '/p2pfl/blob/1'
const FOUND = 0
const NOT_FOUND = 1
const CHUNK = 256 * 1024

const hex = (bytes) => Buffer.from(bytes).toString('hex')
const fromHex = (text) => Uint8Array.from(Buffer.from(text.replace(/^0x/, ''), 'hex'))
const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')

async function newNode (listen) {
  return createLibp2p({
    addresses: { listen: listen ? ['/ip4/127.0.0.1/tcp/0'] : [] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      pubsub: gossipsub({ allowPublishToZeroTopicPeers: true, emitSelf: false })
    }
  })
}

/** Reads exact byte counts from a libp2p 3 stream (an async iterable of chunks). */
class Reader {
  constructor (stream) {
    this.iter = stream[Symbol.asyncIterator]()
    this.chunks = []
    this.buffered = 0
  }

  async fill (n) {
    while (this.buffered < n) {
      const { value, done } = await this.iter.next()
      if (done) throw new Error(`stream ended with ${this.buffered} of ${n} bytes`)
      const chunk = value instanceof Uint8Array ? value : value.subarray()
      this.chunks.push(chunk)
      this.buffered += chunk.length
    }
  }

  async read (n) {
    await this.fill(n)
    const result = new Uint8Array(n)
    let at = 0
    while (at < n) {
      const head = this.chunks[0]
      const take = Math.min(head.length, n - at)
      result.set(head.subarray(0, take), at)
      at += take
      if (take === head.length) this.chunks.shift()
      else this.chunks[0] = head.subarray(take)
    }
    this.buffered -= n
    return result
  }
}

async function fetchBlob (connection, digest) {
  const stream = await connection.newStream(PROTOCOL)
  stream.send(Uint8Array.from([1, ...digest]))
  const reader = new Reader(stream)
  const status = (await reader.read(1))[0]
  if (status !== FOUND) throw new Error(`status ${status}`)
  const length = Number(Buffer.from(await reader.read(8)).readBigUInt64BE())
  const data = await reader.read(length)
  await stream.close()
  return data
}

async function fetchAnnounced (addr, topic, timeoutS) {
  const node = await newNode(false)
  const timer = setTimeout(() => { out({ ok: false, error: 'timeout' }); process.exit(2) }, timeoutS * 1000)
  const announced = new Promise((resolve) => {
    node.services.pubsub.addEventListener('message', (evt) => {
      if (evt.detail.topic !== topic) return
      resolve(JSON.parse(new TextDecoder().decode(evt.detail.data)))
    })
  })
  node.services.pubsub.subscribe(topic)
  const connection = await node.dial(multiaddr(addr))
  const ann = await announced
  const started = performance.now()
  const data = await fetchBlob(connection, fromHex(ann.digest))
  const seconds = (performance.now() - started) / 1000
  const ok = '0x' + hex(keccak256(data)) === ann.digest && data.length === ann.size
  clearTimeout(timer)
  out({ ok, digest: ann.digest, size: data.length, kind: ann.kind, epoch: ann.epoch, seconds })
  await node.stop()
}

async function fetchDirect (addr, digestHex, size, repeats) {
  const node = await newNode(false)
  const connection = await node.dial(multiaddr(addr))
  const digest = fromHex(digestHex)
  const seconds = []
  const hashSeconds = []
  for (let i = 0; i < repeats; i++) {
    const started = performance.now()
    const data = await fetchBlob(connection, digest)
    seconds.push((performance.now() - started) / 1000)
    if (data.length !== size) throw new Error(`got ${data.length} bytes, not ${size}`)
    if (i === 0) { // the check is slow in JS (~6 MB/s): once is enough, timed apart
      const hashed = performance.now()
      const ok = hex(keccak256(data)) === hex(digest)
      hashSeconds.push((performance.now() - hashed) / 1000)
      if (!ok) throw new Error('digest mismatch')
    }
  }
  out({ seconds, hash_seconds: hashSeconds })
  await node.stop()
}

async function serve (size) {
  const data = randomBytes(size)
  const digest = keccak256(data)
  const node = await newNode(true)
  await node.handle(PROTOCOL, async (stream) => {
    try {
      const request = await new Reader(stream).read(33)
      const found = request[0] === 1 && hex(request.subarray(1)) === hex(digest)
      if (!found) {
        stream.send(Uint8Array.from([NOT_FOUND]))
      } else {
        const header = Buffer.alloc(9)
        header[0] = FOUND
        header.writeBigUInt64BE(BigInt(size), 1)
        stream.send(header)
        for (let at = 0; at < size; at += CHUNK) {
          if (!stream.send(data.subarray(at, Math.min(at + CHUNK, size)))) {
            await stream.onDrain()
          }
        }
      }
      await stream.close()
    } catch (err) {
      stream.abort(err)
    }
  })
  const addr = node.getMultiaddrs()[0].toString()
  out({ addr, digest: hex(digest), peer: node.peerId.toString() })
  process.stdin.resume()
  await new Promise((resolve) => process.stdin.on('end', resolve))
  await node.stop()
}

const [mode, ...args] = process.argv.slice(2)
try {
  if (mode === 'fetch-announced') {
    await fetchAnnounced(args[0], args[1], Number(args[2] ?? 60))
  } else if (mode === 'fetch') {
    await fetchDirect(args[0], args[1], Number(args[2]), Number(args[3] ?? 1))
  } else if (mode === 'serve') {
    await serve(Number(args[0]))
  } else {
    throw new Error(`unknown mode ${mode}`)
  }
  process.exit(0)
} catch (err) {
  out({ ok: false, error: String(err?.stack ?? err) })
  process.exit(1)
}
