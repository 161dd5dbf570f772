/** `burrow nat --stun HOST:PORT [--json] [--lifetime]`: RFC 5780 NAT behaviour discovery. */
import { discoverNat, type NatDiscoveryResult } from '../engine/stun/nat-discovery.js';
import { UsageError, withExitCode } from './args.js';
import { parseCommand, serverArg } from './stun-command.js';

const USAGE = 'usage: burrow nat --stun HOST:PORT [--json] [--lifetime]';

function seconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}

export function formatNat(r: NatDiscoveryResult): string {
  const hairpin = r.hairpinning === 'unknown' ? 'unknown' : r.hairpinning ? 'yes' : 'no';
  const rows: Array<[string, string]> = [
    ['local address', r.localAddress],
    ['mapped address', r.mappedAddress ?? '-'],
    ['mapping', r.mapping],
    ['filtering', r.filtering],
    ['hairpinning', hairpin],
  ];
  if (r.bindingLifetime) {
    const l = r.bindingLifetime;
    rows.push(['binding lifetime', l.lessThanMs === undefined ? `at least ${seconds(l.atLeastMs)}` : `${seconds(l.atLeastMs)} to ${seconds(l.lessThanMs)}`]);
  }
  const preserved = r.portPreservation === 'unknown' ? 'unknown' : r.portPreservation ? 'yes' : 'no';
  const delta = r.portDelta === null ? '' : ` (delta ${r.portDelta > 0 ? '+' : ''}${r.portDelta} between destinations)`;
  rows.push(['port preservation', preserved], ['port allocation', `${r.portAllocation}${delta}`]);
  rows.push(['classic name', `${r.classicName}${r.partial ? ' (partial: see notes)' : ''}`]);
  const lines = [`NAT behaviour (RFC 5780) via ${r.server}`, ...rows.map(([k, v]) => `  ${k.padEnd(17)} ${v}`)];
  if (r.verdict) lines.push(`P2P: ${r.verdict}`);
  if (r.notes.length > 0) lines.push('notes:', ...r.notes.map((n) => `  - ${n}`));
  return lines.join('\n');
}

export function runNat(argv: string[]): Promise<number> {
  return withExitCode(async () => {
    const { values: flags, positionals } = parseCommand(argv, {
      stun: { type: 'string' },
      json: { type: 'boolean' },
      lifetime: { type: 'boolean' },
    });
    if (positionals.length > 1 || (flags.stun !== undefined && positionals.length > 0)) throw new UsageError(USAGE);
    const text = flags.stun ?? positionals[0];
    if (!text) throw new UsageError(`--stun HOST:PORT is required\n${USAGE}`);
    const server = serverArg(text, '--stun');
    if (flags.lifetime && !flags.json) console.error('burrow: probing the binding lifetime takes about a minute...');
    let report: NatDiscoveryResult;
    try {
      report = await discoverNat(server, { lifetime: !!flags.lifetime });
    } catch (err) {
      const message = `NAT discovery via ${text} failed: ${(err as Error).message}`;
      if (flags.json) console.log(JSON.stringify({ server: text, error: message }, null, 2));
      else console.error(`burrow: ${message}`);
      return 1;
    }
    if (report.mappedAddress === null) {
      // Every command's --json failure carries `error` (README, "burrow stun --json …").
      const message = `no answer from the STUN server ${text}`;
      if (flags.json) console.log(JSON.stringify({ ...report, error: message }, null, 2));
      else {
        console.log(formatNat(report));
        console.error(`burrow: ${message}`);
      }
      return 1;
    }
    console.log(flags.json ? JSON.stringify(report, null, 2) : formatNat(report));
    return 0;
  }, argv);
}
