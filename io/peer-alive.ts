/**
 * Is the Burrow process at the other end of the control connection still alive? Asked before a
 * FIN that arrived on a raw (pooled, not multiplexed) work connection is passed on (io/splice.ts):
 * when a process is killed its kernel closes every socket with a FIN, indistinguishable on the
 * work connection from a clean end, so the FIN is trusted only once a Pong answers a Ping sent
 * after it arrived. A dead peer never answers and its control connection drops with it, so the
 * session ends (`lost()`) and the answer is false: the user connection is reset.
 */

/** A peer that does not answer Pings (but keeps its session) is taken as alive after this long. */
export const PEER_ALIVE_CAP_MS = 5000;

interface Question {
  readonly time: number;
  readonly answer: (alive: boolean) => void;
}

export class PeerAliveProbe {
  private readonly questions: Question[] = [];
  private lastTime = 0;
  private dead = false;

  /** `sendPing(time)` writes a Ping carrying `time` on the control connection; the peer echoes it in its Pong. */
  constructor(
    private readonly sendPing: (time: number) => void,
    private readonly capMs = PEER_ALIVE_CAP_MS,
  ) {}

  ask(): Promise<boolean> {
    if (this.dead) return Promise.resolve(false);
    // Strictly increasing, so a Pong answers only Pings sent no later than it names.
    const time = Math.max(Date.now(), this.lastTime + 1);
    this.lastTime = time;
    return new Promise((resolve) => {
      const timer = setTimeout(() => settle(true), this.capMs);
      timer.unref();
      const settle = (alive: boolean) => {
        clearTimeout(timer);
        const i = this.questions.indexOf(question);
        if (i >= 0) this.questions.splice(i, 1);
        resolve(alive);
      };
      const question: Question = { time, answer: settle };
      this.questions.push(question);
      this.sendPing(time);
    });
  }

  /** A Pong arrived echoing `time`: every question asked with a Ping up to that one is answered alive. */
  pong(time: number): void {
    for (const q of this.questions.filter((q) => q.time <= time)) q.answer(true);
  }

  /** The session ended: every open question (and every later one) is answered dead. */
  lost(): void {
    this.dead = true;
    for (const q of [...this.questions]) q.answer(false);
  }
}
