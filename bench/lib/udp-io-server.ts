/**
 * The server side of `bench/udp-io.ts`: one UDP socket on 127.0.0.1 that sends every datagram it
 * receives back to its source (one receive + one send per datagram, the TURN relay's hot path
 * without the TURN logic), through one of the socket implementations being compared:
 *
 *   dgram   node:dgram as server/stun/stun-listener.ts uses it: recvBufferSize 4 MiB, the
 *           literal lookup, `send(buf, port, address)` without a callback.
 *   udx     udx-native's UDXSocket raw messages: `on('message', (buf, {host, port}))`, `trySend`.
 *   batch   native/udp-batch through io/udp-batch.ts, as the STUN listener and relay sockets use it
 *           where it was built (recvmmsg batches, one sendto per reply).
 *   dgram-batch, udx-batch  the same as dgram and udx, but the replies of one event-loop turn are sent after the
 *           turn (setImmediate), to see whether deferring the sends changes the cost or the drops.
 *
 * Run as a forked child: `node dist/bench/lib/udp-io-server.js IMPL`. It sends
 * `{ ready, port, rcvbuf }` once bound, and answers every `'mark'` message with
 * `{ mark, user, system, received }` (process.cpuUsage in µs, datagrams received so far).
 */
import dgram from 'node:dgram';
import { createRequire } from 'node:module';
import { literalLookup, UDP_BURST_BUFFER_BYTES } from '../../io/literal-lookup.js';
import { loadBatchDatagramSockets } from '../../io/udp-batch.js';

interface RawUdxSocket {
  bind(port: number, host: string): void;
  address(): { host: string; port: number };
  on(event: 'message', listener: (buf: Buffer, from: { host: string; port: number }) => void): void;
  trySend(buf: Uint8Array, port: number, host: string): void;
  setRecvBufferSize(n: number): number;
  getRecvBufferSize(): number;
  readonly packetsDroppedByKernel: number;
}

const impl = process.argv[2] ?? 'dgram';
let received = 0;
let kernelDrops = (): number => 0;

function reply(msg: Record<string, unknown>): void {
  process.send!(msg);
}

/**
 * The handler every implementation uses: counts the datagram and sends it back at once, or, with
 * `batch`, queues the reply and sends the turn's replies after it (setImmediate).
 */
function echoer(send: (buf: Buffer, port: number, host: string) => void, batch: boolean): (buf: Buffer, port: number, host: string) => void {
  if (!batch) {
    return (buf, port, host) => {
      received++;
      send(buf, port, host);
    };
  }
  const queue: Array<{ buf: Buffer; port: number; host: string }> = [];
  const flush = (): void => {
    for (const q of queue) send(q.buf, q.port, q.host);
    queue.length = 0;
  };
  return (buf, port, host) => {
    received++;
    if (queue.length === 0) setImmediate(flush);
    queue.push({ buf, port, host });
  };
}

if (impl === 'dgram' || impl === 'dgram-batch') {
  const socket = dgram.createSocket({ type: 'udp4', lookup: literalLookup, recvBufferSize: UDP_BURST_BUFFER_BYTES });
  const onDatagram = echoer((buf, port, host) => socket.send(buf, port, host), impl === 'dgram-batch');
  socket.on('message', (msg, rinfo) => onDatagram(msg, rinfo.port, rinfo.address));
  socket.on('error', () => {});
  socket.bind(0, '127.0.0.1', () => reply({ ready: true, port: socket.address().port, rcvbuf: socket.getRecvBufferSize() }));
} else if (impl === 'udx' || impl === 'udx-batch') {
  const require = createRequire(import.meta.url);
  const UDX = require('udx-native') as new () => { createSocket(): RawUdxSocket };
  const socket = new UDX().createSocket();
  socket.bind(0, '127.0.0.1');
  socket.setRecvBufferSize(UDP_BURST_BUFFER_BYTES);
  kernelDrops = () => socket.packetsDroppedByKernel;
  const onDatagram = echoer((buf, port, host) => socket.trySend(buf, port, host), impl === 'udx-batch');
  socket.on('message', (buf, from) => onDatagram(buf, from.port, from.host));
  reply({ ready: true, port: socket.address().port, rcvbuf: socket.getRecvBufferSize() });
} else if (impl === 'batch') {
  const factory = loadBatchDatagramSockets();
  if (!factory) {
    reply({ error: 'native/udp-batch is not built (npm run build:native)' });
    process.exit(2);
  }
  const socket = await factory.bind({ type: 'udp4', address: '127.0.0.1', port: 0, recvBufferSize: UDP_BURST_BUFFER_BYTES });
  const onDatagram = echoer((buf, port, host) => socket.send(buf, port, host), false);
  socket.onMessage((msg, address, port) => onDatagram(msg, port, address));
  reply({ ready: true, port: socket.port, rcvbuf: 0 /* not reported by the addon */ });
} else {
  reply({ error: `unknown implementation ${impl}` });
  process.exit(2);
}

process.on('message', (m) => {
  if (m === 'mark') {
    const c = process.cpuUsage();
    reply({ mark: true, user: c.user, system: c.system, received, kernelDrops: kernelDrops() });
  } else if (m === 'exit') process.exit(0);
});
