import { describe, expect, it, afterEach } from 'vitest';
import net from 'node:net';
import { once } from 'node:events';
import { MuxFrameDecoder, MuxType, type MuxFrame } from '../../shared/mux/frame.js';
import { splice } from '../splice.js';
import { MuxSession } from './session.js';
import { loopbackPair } from '../loopback-pair.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
});

const socketPair = () => loopbackPair((f) => cleanups.push(f));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

describe('read gate (a session congested by many streams)', () => {
  it("sockets spliced to its streams stop reading, so their data waits in the kernel, not here; once the peer reads, every stream's data arrives", async () => {
    const [muxSide, peer] = await socketPair();
    const session = new MuxSession(muxSide, { client: true, keepAliveMs: 0 });
    cleanups.push(() => session.destroy());
    const decoder = new MuxFrameDecoder({ maxFramePayload: 16 * 1024 * 1024 });
    const frames: MuxFrame[] = [];
    peer.on('data', (c: Buffer) => frames.push(...decoder.push(c)));
    peer.pause(); // the peer's process reads nothing for now

    const N = 300;
    const CHUNK = 64 * 1024;
    const users: net.Socket[] = []; // our end of each user connection, as a relay holds it
    for (let i = 0; i < N; i++) {
      const [remote, local] = await socketPair();
      void splice(local, session.openStream());
      users.push(local);
      remote.write(Buffer.alloc(CHUNK, i % 251));
    }
    // Held in this process: read from the user sockets and not yet taken by the kernel on the mux
    // connection (whose buffers take a few MB before the peer's silence stops it).
    let maxHeld = 0;
    for (let i = 0; i < 50; i++) {
      const read = users.reduce((n, s) => n + s.bytesRead, 0);
      maxHeld = Math.max(maxHeld, read - (muxSide.bytesWritten - muxSide.writableLength));
      await sleep(10);
    }
    // At most the send budget and the 64 waiting streams that start the gate, about 4.5 MB;
    // without the gate nearly every connection's 64 KiB was read and held (about 15 MB here).
    expect(maxHeld).toBeGreaterThan(0);
    expect(maxHeld).toBeLessThan(6 * 1024 * 1024);

    peer.resume();
    const dataBytes = () => frames.filter((f) => f.type === MuxType.Data).reduce((n, f) => n + f.length, 0);
    await until(() => dataBytes() === N * CHUNK, 30_000);
    const perStream = new Map<number, number>();
    for (const f of frames) if (f.type === MuxType.Data) perStream.set(f.streamId, (perStream.get(f.streamId) ?? 0) + f.length);
    expect(perStream.size).toBe(N);
    expect([...perStream.values()].every((n) => n === CHUNK)).toBe(true);
  }, 60_000);
});
