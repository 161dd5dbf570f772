/**
 * New-connection rate: `workers` concurrent loops, each doing connect -> send 1 byte ->
 * read the echo -> close, for a fixed time. Only full round trips count.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { HOST } from './ports.js';
import { sleep } from './stats.js';

export interface ConnRateOptions {
  port: number;
  seconds: number;
  workers?: number;
  /** Per-attempt limit; a stuck attempt counts as an error. */
  attemptTimeoutMs?: number;
}

export interface ConnRateResult {
  perSec: number;
  ok: number;
  errors: number;
  firstError?: string;
}

function once(port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: HOST, port, noDelay: true });
    let settled = false;
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => finish(new Error(`round trip timed out after ${timeoutMs} ms`)), timeoutMs);
    sock.once('connect', () => sock.write('x'));
    sock.once('data', () => finish());
    sock.once('error', (err) => finish(err));
    sock.once('close', () => finish(new Error('closed before the echo arrived')));
  });
}

export async function runConnRate(opts: ConnRateOptions): Promise<ConnRateResult> {
  const workers = opts.workers ?? 32;
  const attemptTimeoutMs = opts.attemptTimeoutMs ?? 2000;
  const t0 = performance.now();
  const end = t0 + opts.seconds * 1000;
  let ok = 0;
  let errors = 0;
  let firstError: string | undefined;
  const worker = async (): Promise<void> => {
    // Bounded by time; the iteration cap is a safety net only.
    for (let i = 0; i < 10_000_000 && performance.now() < end; i++) {
      try {
        await once(opts.port, attemptTimeoutMs);
        ok++;
      } catch (err) {
        errors++;
        firstError ??= err instanceof Error ? err.message : String(err);
        await sleep(10);
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  return { perSec: ok / elapsed, ok, errors, firstError };
}
