/**
 * I/O adapter: a minor garbage collection (a scavenge of V8's young generation) after every
 * `everyBytes` of socket data the process has taken in.
 *
 * Why: every socket read hands JavaScript a new Buffer whose memory lives outside V8's heap. A
 * relay drops each one within the turn, but V8 frees that memory only when it collects the small
 * Buffer object, and it collects the young generation only once 2 MiB of *JavaScript* objects were
 * allocated (the shebang's semi-space) — which a relay moving 64 KiB reads does only every ~100 MB.
 * Meanwhile the dead Buffers' memory counts against the old generation's limit
 * (V8's `OldGenerationSpaceAvailable` adds external memory allocated since the last full
 * collection), so V8 ran a full mark-compact every 20–60 ms instead: a third of both processes'
 * CPU on the plain path (perf, docs/BENCHMARKS.md issue 12). A scavenge frees the same Buffers in
 * well under a millisecond, because almost nothing in the young generation is alive.
 *
 * Counted where fresh Buffers arrive: io/splice.ts (chunks read from sockets, not mux streams,
 * whose chunks are views of the session's) and io/mux/session.ts (the session socket's chunks).
 * Process-wide, as V8's heap is: the host installs a pacer with node's `gc` (--expose-gc); without
 * one, only the running total (socketBytesRead) is kept.
 */

/** Scavenge after this many bytes of socket data (V8 itself scavenges at 32 MiB of young Buffers). */
export const YOUNG_GC_EVERY_BYTES = 16 * 1024 * 1024;

export interface YoungGcPacerDeps {
  /** Runs a minor collection (node: `gc({ type: 'minor' })`). */
  collectYoung: () => void;
  /** Runs `run` once the current I/O callbacks are done (default setImmediate): never inside a read. */
  defer?: (run: () => void) => void;
  everyBytes?: number;
}

export class YoungGcPacer {
  private readonly collectYoung: () => void;
  private readonly defer: (run: () => void) => void;
  private readonly everyBytes: number;
  private bytes = 0;
  private scheduled = false;
  /** Collections run so far. */
  collections = 0;

  constructor(deps: YoungGcPacerDeps) {
    this.collectYoung = deps.collectYoung;
    this.defer = deps.defer ?? ((run) => void setImmediate(run));
    this.everyBytes = deps.everyBytes ?? YOUNG_GC_EVERY_BYTES;
    if (!(this.everyBytes > 0)) throw new RangeError(`everyBytes must be positive, got ${this.everyBytes}`);
  }

  /** `n` bytes of newly read socket data. */
  note(n: number): void {
    this.bytes += n;
    if (this.bytes < this.everyBytes || this.scheduled) return;
    this.scheduled = true;
    this.defer(this.run);
  }

  private readonly run = (): void => {
    this.scheduled = false;
    this.bytes = 0;
    this.collections++;
    this.collectYoung();
  };
}

let installed: YoungGcPacer | undefined;
let totalSocketBytes = 0;

/** The process's pacer (undefined uninstalls). */
export function installYoungGcPacer(pacer: YoungGcPacer | undefined): void {
  installed = pacer;
}

/** Hot path: `n` bytes of newly read socket data arrived. */
export function noteSocketBytes(n: number): void {
  totalSocketBytes += n;
  if (installed !== undefined) installed.note(n);
}

/** Bytes noted so far, pacer or not (io/memory-reclaimer.ts's policies tell a transfer from light traffic by it). */
export function socketBytesRead(): number {
  return totalSocketBytes;
}
