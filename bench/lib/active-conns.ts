/**
 * Many concurrent, active connections: open `count` connections (with bounded connect
 * concurrency), then each sends a small message every `intervalMs` and reads its echo.
 * While they are held open, `onSample` is called periodically (used for RSS sampling).
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { HOST } from './ports.js';
import { sleep } from './stats.js';

export interface ActiveOptions {
  port: number;
  count: number;
  holdSeconds: number;
  intervalMs?: number;
  messageSize?: number;
  rampConcurrency?: number;
  onSample: () => void;
  sampleEveryMs?: number;
}

export interface ActiveResult {
  opened: number;
  failed: number;
  /** Connections that closed or errored after opening but before the hold started. */
  droppedBeforeHold: number;
  /** Connections open when the hold (and memory sampling) started. */
  aliveAtHold: number;
  /** Connections that closed or errored while being held. */
  dropped: number;
  /** Messages per second during the hold: sent by the generator, echoed back, and nominal (open connections x rate). */
  sentPerSec: number;
  echoedPerSec: number;
  nominalPerSec: number;
  firstError?: string;
}

interface Held {
  sock: net.Socket;
  alive: boolean;
}

export async function holdActive(opts: ActiveOptions): Promise<ActiveResult> {
  const intervalMs = opts.intervalMs ?? 100;
  const size = opts.messageSize ?? 16;
  const rampConcurrency = opts.rampConcurrency ?? 50;
  const sampleEveryMs = opts.sampleEveryMs ?? 500;
  const msg = Buffer.alloc(size, 0x62);
  const held: Held[] = [];
  let failed = 0;
  let dropped = 0;
  let rxBytes = 0;
  let txMessages = 0;
  let firstError: string | undefined;
  const noteError = (err: unknown): void => {
    firstError ??= err instanceof Error ? err.message : String(err);
  };

  const open = (): Promise<void> =>
    new Promise((resolve) => {
      const sock = net.connect({ host: HOST, port: opts.port, noDelay: true });
      const h: Held = { sock, alive: false };
      const timer = setTimeout(() => {
        failed++;
        noteError(new Error('connect timed out'));
        sock.destroy();
        resolve();
      }, 10_000);
      sock.once('connect', () => {
        clearTimeout(timer);
        h.alive = true;
        held.push(h);
        resolve();
      });
      sock.on('data', (d: Buffer) => (rxBytes += d.length));
      sock.on('error', (err) => {
        noteError(err);
        if (!h.alive) {
          clearTimeout(timer);
          failed++;
          resolve();
        }
      });
      sock.on('close', () => {
        if (h.alive) {
          h.alive = false;
          dropped++;
        }
      });
    });

  // Every 10 ms, one tenth (for 100 ms) of the connections sends a message.
  const slots = Math.max(1, Math.round(intervalMs / 10));
  let tick = 0;
  const ticker = setInterval(() => {
    const slot = tick++ % slots;
    for (let i = slot; i < held.length; i += slots) {
      const h = held[i]!;
      if (h.alive && h.sock.writableLength < 64 * 1024) {
        h.sock.write(msg);
        txMessages++;
      }
    }
  }, 10);

  try {
    // Ramp up with bounded concurrency.
    let started = 0;
    const rampDeadline = performance.now() + 60_000;
    const rampWorker = async (): Promise<void> => {
      while (started < opts.count && performance.now() < rampDeadline) {
        started++;
        await open();
      }
    };
    await Promise.all(Array.from({ length: rampConcurrency }, rampWorker));
    await sleep(1000);

    // Hold and sample.
    const droppedBefore = dropped;
    const aliveAtHold = held.filter((h) => h.alive).length;
    rxBytes = 0;
    txMessages = 0;
    const t0 = performance.now();
    const holdEnd = t0 + opts.holdSeconds * 1000;
    opts.onSample();
    while (performance.now() < holdEnd) {
      await sleep(Math.min(sampleEveryMs, Math.max(1, holdEnd - performance.now())));
      opts.onSample();
    }
    const elapsed = (performance.now() - t0) / 1000;
    const sent = txMessages;
    const echoed = rxBytes / size;
    const aliveNow = held.filter((h) => h.alive).length;
    return {
      opened: held.length,
      failed,
      droppedBeforeHold: droppedBefore,
      aliveAtHold,
      dropped: dropped - droppedBefore,
      sentPerSec: sent / elapsed,
      echoedPerSec: echoed / elapsed,
      nominalPerSec: (aliveNow * 1000) / intervalMs,
      firstError,
    };
  } finally {
    clearInterval(ticker);
    for (const h of held) h.sock.destroy();
    await sleep(300);
  }
}
