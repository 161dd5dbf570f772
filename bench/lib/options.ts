/** Command-line flags of `npm run bench:relay` and the phase lengths they imply. */
import { PATH_IDS, type PathId } from './path.js';

export interface Phases {
  iperfSeconds: number;
  latencySeconds: number;
  latencyWarmupSeconds: number;
  latencyRates: number[];
  latencyConnections: number;
  connRateSeconds: number;
  connRateWorkers: number;
  activeConnections: number;
  activeHoldSeconds: number;
  /** Connections opened at once in the burst phase (each moves burstBytes both ways); 0 = no burst. */
  burstConnections: number;
  burstBytes: number;
  /** How long after the burst the memory given back is read. */
  burstSettleSeconds: number;
}

export interface Options {
  quick: boolean;
  only: PathId[];
  /** Write docs/BENCHMARKS.md (default: full runs only). */
  writeDocs: boolean;
  /** Busy-poll the latency generator instead of using 1 ms timers. */
  spin: boolean;
  /** Rounds of the rate phases (each path started fresh per round, order rotated); memory phases run in the last round only. */
  rounds: number;
  phases: Phases;
}

export const USAGE = `usage: npm run bench:relay -- [--quick] [--only a,b,c,d,e,f,g] [--docs | --no-docs] [--spin] [--no-burst] [--rounds N]
  (a) direct  (b) burrow tls:false  (c) burrow tls  (d) ssh -R  (e) socat
  (f) burrow tls:false, mux off  (g) burrow tls, mux off  ((b) and (c) use the default, mux on)
  --quick    shorten every phase (smoke run); does not write docs unless --docs
  --only     run only these paths (ratios need (a))
  --docs     write docs/BENCHMARKS.md even for --quick / --only runs
  --no-docs  never write docs/BENCHMARKS.md
  --no-burst skip the burst phase (5000 connections x 64 KiB at once, then 60 s of waiting
             to see the memory given back; run on (b), (c), (d), (f), (g))
  --rounds N measure throughput, latency and new connections N times (default 3; 1 with
             --quick), interleaved: round r starts every path fresh, in an order rotated by
             r; the table shows medians with min-max and medians of per-round ratios.
             Memory phases (active connections, burst) run once, in the last round
  --spin     latency generator busy-polls instead of using 1 ms timers: tighter send
             timing, but it burns one core that the relays under test then lack`;

const FULL: Phases = {
  iperfSeconds: 5,
  latencySeconds: 3,
  latencyWarmupSeconds: 1,
  latencyRates: [1000, 4000],
  latencyConnections: 16,
  connRateSeconds: 3,
  connRateWorkers: 32,
  activeConnections: 1000,
  activeHoldSeconds: 5,
  burstConnections: 5000,
  burstBytes: 64 * 1024,
  burstSettleSeconds: 60,
};

const QUICK: Phases = {
  ...FULL,
  iperfSeconds: 1,
  latencySeconds: 1,
  latencyWarmupSeconds: 0.2,
  connRateSeconds: 1,
  activeHoldSeconds: 1.5,
  // The burst keeps its size and its 60 s (the target is defined by them); --no-burst skips it.
};

export function parseArgs(argv: string[]): Options {
  let quick = false;
  let only: PathId[] = [...PATH_IDS];
  let docs: boolean | undefined;
  let spin = false;
  let burst = true;
  let rounds: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') quick = true;
    else if (a === '--docs') docs = true;
    else if (a === '--no-docs') docs = false;
    else if (a === '--spin') spin = true;
    else if (a === '--no-burst') burst = false;
    else if (a === '--rounds' || a.startsWith('--rounds=')) {
      const v = a === '--rounds' ? argv[++i] : a.slice('--rounds='.length);
      const n = Number(v);
      if (v === undefined || !/^\d+$/.test(v) || n < 1 || n > MAX_ROUNDS) throw new Error(`--rounds needs a whole number from 1 to ${MAX_ROUNDS}, got ${v ?? 'nothing'}\n${USAGE}`);
      rounds = n;
    } else if (a === '--only' || a.startsWith('--only=')) {
      const list = a === '--only' ? argv[++i] : a.slice('--only='.length);
      if (!list) throw new Error(`--only needs a list like a,b,e\n${USAGE}`);
      const ids = list.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
      const bad = ids.filter((s) => !(PATH_IDS as readonly string[]).includes(s));
      if (bad.length > 0 || ids.length === 0) throw new Error(`--only: unknown path(s) ${bad.join(',')}\n${USAGE}`);
      only = PATH_IDS.filter((p) => ids.includes(p));
    } else if (a === '--help' || a === '-h') {
      throw new Error(USAGE);
    } else {
      throw new Error(`unknown argument ${a}\n${USAGE}`);
    }
  }
  const full = !quick && only.length === PATH_IDS.length;
  const phases = { ...(quick ? QUICK : FULL), ...(burst ? {} : { burstConnections: 0 }) };
  return { quick, only, writeDocs: docs ?? (full && !spin && burst), spin, rounds: rounds ?? (quick ? 1 : 3), phases };
}

export const MAX_ROUNDS = 20;

/**
 * The run's overall time limit (the watchdog), from the flags: the memory phases once (burst
 * about 70 s a path) plus the rate phases per round (about 35 s a path at full length, 15 s quick),
 * with generous slack for slow starts.
 */
export function timeLimitMinutes(opts: Pick<Options, 'quick' | 'rounds' | 'only'>): number {
  const perRound = ((opts.quick ? 15 : 35) * opts.only.length) / 60;
  return Math.ceil((opts.quick ? 14 : 20) + 2 * perRound * opts.rounds);
}
