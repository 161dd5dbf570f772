import { describe, expect, it } from 'vitest';
import { DeadlineTimer, type Expiring, type TimerFunctions } from './deadline-timer.js';

/** Timer functions that record what is armed and fire only when told. */
class RecordingTimers implements TimerFunctions {
  armed: Array<{ run: () => void; ms: number; cleared: boolean }> = [];
  set(run: () => void, ms: number): unknown {
    // A timer that fired is gone, like a real one.
    const t = {
      run: () => {
        t.cleared = true;
        run();
      },
      ms,
      cleared: false,
    };
    this.armed.push(t);
    return t;
  }
  clear(handle: unknown): void {
    (handle as { cleared: boolean }).cleared = true;
  }
  live(): Array<{ run: () => void; ms: number }> {
    return this.armed.filter((t) => !t.cleared);
  }
}

/** A state machine with a list of deadlines. */
class Deadlines implements Expiring {
  handled: number[] = [];
  constructor(public due: number[]) {}
  nextExpiry(): number | undefined {
    return this.due.length ? Math.min(...this.due) : undefined;
  }
  handleExpiry(now: number): void {
    this.handled.push(now);
    this.due = this.due.filter((d) => d > now);
  }
}

describe('DeadlineTimer', () => {
  it('arms one timer for the earliest deadline, runs it, and re-arms for the next', () => {
    let now = 1000;
    const timers = new RecordingTimers();
    const target = new Deadlines([5000, 3000]);
    const timer = new DeadlineTimer(target, () => now, timers);
    timer.rearm();
    expect(timers.live().map((t) => t.ms)).toEqual([2000]);
    now = 3000;
    timers.live()[0]!.run();
    expect(target.handled).toEqual([3000]);
    expect(timers.live().map((t) => t.ms)).toEqual([2000]);
    expect(timer.deadline).toBe(5000);
    now = 5000;
    timers.live()[0]!.run();
    expect(target.due).toEqual([]);
    expect(timers.live()).toEqual([]);
    expect(timer.deadline).toBeUndefined();
  });

  it('brings the timer forward for an earlier deadline and keeps it for a later one', () => {
    const now = 0;
    const timers = new RecordingTimers();
    const target = new Deadlines([10_000]);
    const timer = new DeadlineTimer(target, () => now, timers);
    timer.rearm();
    target.due.push(20_000);
    timer.rearm();
    expect(timers.armed).toHaveLength(1);
    target.due.push(4000);
    timer.rearm();
    expect(timers.live().map((t) => t.ms)).toEqual([4000]);
    expect(timers.armed[0]!.cleared).toBe(true);
  });

  it('a wake-up with nothing due re-arms for the real deadline; a stopped timer never arms', () => {
    let now = 0;
    const timers = new RecordingTimers();
    const target = new Deadlines([1000]);
    const timer = new DeadlineTimer(target, () => now, timers);
    timer.rearm();
    target.due = [8000]; // the deadline moved later (e.g. a refresh)
    now = 1000;
    timers.live()[0]!.run();
    expect(target.handled).toEqual([1000]);
    expect(timers.live().map((t) => t.ms)).toEqual([7000]);
    timer.stop();
    expect(timers.live()).toEqual([]);
    target.due.push(2000);
    timer.rearm();
    expect(timers.live()).toEqual([]);
  });

  it('a deadline already past fires at once', () => {
    const timers = new RecordingTimers();
    const timer = new DeadlineTimer(new Deadlines([500]), () => 900, timers);
    timer.rearm();
    expect(timers.live().map((t) => t.ms)).toEqual([0]);
  });
});
