/**
 * A datagram burst at a STUN/TURN server's listening port (issue 12: "22,000 datagrams at full
 * speed (0.6 s) during a uclient run"): `count` STUN Binding requests (RFC 8489 §6: 20-byte header,
 * no attributes, a fresh transaction ID each), spread evenly over `spreadMs`, from one socket of
 * this process. Every server answers Binding, so the same burst means the same work for coturn and
 * Burrow. What the server's listening socket dropped is read by the caller (UdpDropWatcher); this
 * counts what was sent and how many answers came back.
 */
import dgram from 'node:dgram';
import { randomFillSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { literalLookup } from '../../io/literal-lookup.js';
import { sleep } from './stats.js';

export interface BurstResult {
  sent: number;
  /** Binding success responses received (within `drainMs` after the last send). */
  answered: number;
  /** From the first send to the last, in ms. */
  sendMs: number;
}

/** `count` Binding requests of 20 bytes each, back to back in one buffer. */
export function bindingRequests(count: number): Buffer {
  const all = Buffer.alloc(20 * count);
  randomFillSync(all);
  for (let i = 0; i < count; i++) {
    const o = i * 20;
    all.writeUInt16BE(0x0001, o); // Binding request
    all.writeUInt16BE(0, o + 2); // no attributes
    all.writeUInt32BE(0x2112a442, o + 4); // magic cookie; bytes 8..19 stay random (transaction ID)
  }
  return all;
}

export async function sendBurst(opts: { host: string; port: number; count: number; spreadMs: number; drainMs?: number }): Promise<BurstResult> {
  const socket = dgram.createSocket({ type: 'udp4', lookup: literalLookup, recvBufferSize: 4 * 1024 * 1024 });
  await new Promise<void>((resolve) => socket.bind(0, opts.host, () => resolve()));
  let answered = 0;
  socket.on('message', (m) => {
    if (m.length >= 20 && m.readUInt16BE(0) === 0x0101) answered++;
  });
  socket.on('error', () => {});
  const requests = bindingRequests(opts.count);
  const t0 = performance.now();
  let i = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const due = opts.spreadMs <= 0 ? opts.count : Math.min(opts.count, Math.ceil(((performance.now() - t0) / opts.spreadMs) * opts.count));
      for (; i < due; i++) socket.send(requests, i * 20, 20, opts.port, opts.host);
      if (i >= opts.count) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  const sendMs = performance.now() - t0;
  await sleep(opts.drainMs ?? 1500);
  socket.close();
  return { sent: i, answered, sendMs };
}
