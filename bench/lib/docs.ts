/**
 * Insert or replace a run's dated section in docs/BENCHMARKS.md, keeping older sections.
 * `writeBenchSection` is the relay benchmark's; `writeMarkedSection` is the same logic for any
 * benchmark with its own markers (e.g. the TURN benchmark's block after the relay sections).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const SECTIONS = '<!-- relay-bench:sections (newest first; written by `npm run bench:relay`) -->';
const START = (key: string): string => `<!-- relay-bench:start ${key} -->`;
const END = '<!-- relay-bench:end -->';

const INTRO = `# Burrow benchmarks

## How to run

\`\`\`sh
npm run bench:relay                  # full run, 3 rounds, about 20 minutes; writes a section below
npm run bench:relay -- --rounds 5    # more rounds (median and spread of 5)
npm run bench:relay -- --quick       # smoke run with short phases (no docs unless --docs)
npm run bench:relay -- --only a,b,e  # a subset of paths (no docs unless --docs)
npm run bench:relay -- --help        # all flags
\`\`\`

The relay benchmark needs \`iperf3\`, \`socat\`, \`ssh\`/\`sshd\` (OpenSSH, started privately on a
free loopback port with throwaway keys; run as root) and a built Burrow (\`npm run build\`).
Everything runs on 127.0.0.1. In one run it measures five paths to the same target service:

- **(a) direct** TCP to the target (the baseline),
- **(b)** a Burrow \`tcp\` tunnel with \`tls: false\`,
- **(c)** a Burrow \`tcp\` tunnel with TLS (the default),
- **(d)** \`ssh -R\` through OpenSSH's sshd,
- **(e)** one \`socat\` hop (\`TCP-LISTEN:P,fork,reuseaddr\` → \`TCP:target\`).

Figures: iperf3 throughput with 1 and 8 streams; open-loop request/response latency
(64-byte echo over 16 persistent connections, measured from each request's *scheduled* send
time); new connections per second (32 workers: connect, 1-byte echo, close); and memory (VmRSS,
and PSS, of the relay processes, children included for sshd and socat) while 1000 connections
are open and each sends a message every 100 ms. The echo target runs in its own process.

The latency generator wakes on 1 ms timers, so every latency figure (the baseline's too)
includes up to about a millisecond of the generator's own send delay; the notes of each run
give its p99 ("generator send lag"). \`--spin\` busy-polls instead, at the cost of a core.
Each run also reports how much CPU *other* processes used while each path was measured; a
non-idle machine makes the figures meaningless, and the run says so.

Throughput, latency and new connections are measured in rounds (\`--rounds N\`, default 3, 1 with
\`--quick\`): each round starts every path fresh and runs them in an order rotated by one, so no
path always goes first or after the same neighbour. On 2 shared cores one run of a path can
differ from the next by 2× (the scheduler places the processes differently), so the table gives
the median with min–max in brackets, and each ratio is taken within a round (path and baseline
measured minutes apart) before the median of those ratios is taken. A target is met on the
median, and the report says in how many rounds it was met. The memory phases (1000 active
connections, the burst) run once per path, in the last round.

Absolute numbers depend heavily on the machine (these runs use a **2-core** machine, where
load generator, target and relay share the cores), so read them as **ratios against the
baseline (a) measured in the same round**. Each section below is one run; newer runs come first.

${SECTIONS}
`;

export function writeBenchSection(file: string, key: string, body: string): void {
  writeMarkedSection(file, { sections: SECTIONS, start: START, end: END, intro: INTRO, block: `${SECTIONS}\n` }, key, body);
}

/** Where a benchmark keeps its sections in the file. */
export interface SectionMarkers {
  /** Line after which new sections go (newest first). */
  sections: string;
  /** Opening marker of the section with this key. */
  start(key: string): string;
  /** Closing marker of every section. */
  end: string;
  /** Whole file when it does not exist yet. */
  intro: string;
  /** Appended to an existing file that lacks `sections` (must contain it): heading, how-to, marker. */
  block: string;
}

/** Replace the section with this key, or insert it as the newest one. */
export function writeMarkedSection(file: string, m: SectionMarkers, key: string, body: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  let text = existsSync(file) ? readFileSync(file, 'utf8') : m.intro;
  const section = `${m.start(key)}\n${body.trim()}\n${m.end}\n`;
  const start = text.indexOf(m.start(key));
  if (start >= 0) {
    const end = text.indexOf(m.end, start);
    const stop = end >= 0 ? end + m.end.length + (text[end + m.end.length] === '\n' ? 1 : 0) : text.length;
    text = text.slice(0, start) + section + text.slice(stop);
  } else {
    if (!text.includes(m.sections)) text = `${text.trimEnd()}\n\n${m.block.trim()}\n`;
    const marker = text.indexOf(m.sections);
    const at = marker + m.sections.length;
    text = `${text.slice(0, at)}\n\n${section}${text.slice(at).replace(/^\n+/, '\n')}`;
  }
  writeFileSync(file, text.replace(/\n{3,}/g, '\n\n'));
}
