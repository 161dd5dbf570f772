import { afterEach, describe, expect, it } from 'vitest';
import { installYoungGcPacer, noteSocketBytes, socketBytesRead, YoungGcPacer } from './young-gc-pacer.js';

function recording(everyBytes: number) {
  const deferred: Array<() => void> = [];
  let collected = 0;
  const pacer = new YoungGcPacer({ collectYoung: () => collected++, defer: (run) => deferred.push(run), everyBytes });
  const flush = () => {
    for (const run of deferred.splice(0)) run();
  };
  return { pacer, deferred, flush, collected: () => collected };
}

afterEach(() => installYoungGcPacer(undefined));

describe('YoungGcPacer', () => {
  it('collects once per everyBytes of socket data, after the read that crossed it, never inside it', () => {
    const r = recording(1000);
    r.pacer.note(600);
    r.pacer.note(399);
    expect(r.deferred).toHaveLength(0);
    r.pacer.note(1);
    expect(r.collected()).toBe(0); // only scheduled
    expect(r.deferred).toHaveLength(1);
    r.flush();
    expect(r.collected()).toBe(1);
    r.pacer.note(999);
    r.flush();
    expect(r.collected()).toBe(1);
    r.pacer.note(1);
    r.flush();
    expect(r.collected()).toBe(2);
  });

  it('many reads crossing the mark before it runs make one collection, and the count starts again after it', () => {
    const r = recording(1000);
    for (let i = 0; i < 10; i++) r.pacer.note(800);
    expect(r.deferred).toHaveLength(1);
    r.flush();
    expect(r.collected()).toBe(1);
    expect(r.pacer.collections).toBe(1);
    r.pacer.note(500);
    expect(r.deferred).toHaveLength(0);
  });

  it('refuses a threshold that is not positive', () => {
    expect(() => new YoungGcPacer({ collectYoung: () => {}, everyBytes: 0 })).toThrow(/everyBytes must be positive/);
    expect(() => new YoungGcPacer({ collectYoung: () => {}, everyBytes: Number.NaN })).toThrow(/everyBytes must be positive/);
  });

  it('noteSocketBytes feeds the installed pacer and is a no-op without one', () => {
    noteSocketBytes(10_000); // nothing installed: nothing to throw
    const r = recording(1000);
    installYoungGcPacer(r.pacer);
    noteSocketBytes(1000);
    r.flush();
    expect(r.collected()).toBe(1);
    installYoungGcPacer(undefined);
    noteSocketBytes(5000);
    expect(r.deferred).toHaveLength(0);
  });

  it('keeps the running total of socket bytes, with or without a pacer', () => {
    const before = socketBytesRead();
    installYoungGcPacer(undefined);
    noteSocketBytes(700);
    const r = recording(1 << 30); // any pacer: the total does not depend on it
    installYoungGcPacer(r.pacer);
    noteSocketBytes(300);
    installYoungGcPacer(undefined);
    expect(socketBytesRead() - before).toBe(1000);
  });
});
