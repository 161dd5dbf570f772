/** Command-line flags of `npm run bench:p2p`. */

export interface P2pOptions {
  quick: boolean;
  /** Write docs/BENCHMARKS.md (default: full runs only). */
  writeDocs: boolean;
  /** Punch attempts per cone pair. */
  punchAttempts: number;
  /** Fallback attempts (UDP between the peers dropped). */
  fallbackAttempts: number;
  /** Length of each iperf3 run. */
  iperfSeconds: number;
  /** iperf3 runs per path and link (the median is reported). */
  iperfRepeats: number;
  /** Rate of the shaped link, Mbit/s. */
  rateMbit: number;
  /** Profile the visiting client during a direct transfer on the unshaped link. */
  profile: boolean;
}

export const P2P_USAGE = `usage: npm run bench:p2p -- [--quick] [--docs | --no-docs] [--punch N] [--fallback N] [--seconds S] [--repeats N] [--rate MBIT] [--no-profile]
  --quick       5 punches per pair, 5 fallbacks, 3 s iperf3 runs, once each (smoke run; no docs unless --docs)
  --punch N     punch attempts per cone pair (default 50)
  --fallback N  fallback attempts (default 20)
  --seconds S   length of each iperf3 run (default 8)
  --repeats N   iperf3 runs per path and link, median reported (default 3)
  --rate MBIT   rate of the shaped link (default 200)
  --no-profile  skip the --cpu-prof run of the visiting client
  --docs        write docs/BENCHMARKS.md even for --quick runs;  --no-docs never
Needs root, iproute2 (ip netns, tc), nftables and iperf3; builds its own lab of network namespaces.`;

export function parseP2pArgs(argv: string[]): P2pOptions {
  const quick = argv.includes('--quick');
  const opts: P2pOptions = {
    quick,
    writeDocs: !quick,
    punchAttempts: quick ? 5 : 50,
    fallbackAttempts: quick ? 5 : 20,
    iperfSeconds: quick ? 3 : 8,
    iperfRepeats: quick ? 1 : 3,
    rateMbit: 200,
    profile: true,
  };
  const int = (flag: string, v: string | undefined, min: number, max: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${flag} expects an integer ${min}..${max}, got ${v ?? 'nothing'}\n${P2P_USAGE}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    switch (a) {
      case '--quick':
        break;
      case '--docs':
        opts.writeDocs = true;
        break;
      case '--no-docs':
        opts.writeDocs = false;
        break;
      case '--no-profile':
        opts.profile = false;
        break;
      case '--punch':
        opts.punchAttempts = int(a, argv[++i], 1, 1000);
        break;
      case '--fallback':
        opts.fallbackAttempts = int(a, argv[++i], 1, 1000);
        break;
      case '--seconds':
        opts.iperfSeconds = int(a, argv[++i], 1, 600);
        break;
      case '--repeats':
        opts.iperfRepeats = int(a, argv[++i], 1, 20);
        break;
      case '--rate':
        opts.rateMbit = int(a, argv[++i], 1, 100_000);
        break;
      case '--help':
      case '-h':
        throw new Error(P2P_USAGE);
      default:
        throw new Error(`unknown flag ${a}\n${P2P_USAGE}`);
    }
  }
  return opts;
}
