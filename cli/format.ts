/** Human-readable rendering of status for the terminal. */
import type { ClientStatus } from '../shared/types/status.js';

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export function formatDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h ${m}m` : m > 0 ? `${m}m ${s % 60}s` : `${s}s`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n');
}

export function formatStatus(s: ClientStatus): string {
  const head = `client ${s.clientId} -> ${s.server}: ${s.state}` +
    (s.uptimeMs !== undefined ? ` (up ${formatDuration(s.uptimeMs)}, ${s.reconnects} reconnects)` : '') +
    (s.error ? `\n  error: ${s.error}` : '');
  const lines = [head];
  if (s.tunnels.length > 0) {
    const rows = [['TUNNEL', 'TYPE', 'STATE', 'REMOTE', 'LOCAL', 'CONNS', 'IN', 'OUT']];
    for (const t of s.tunnels) {
      rows.push([t.name, t.type, t.state, t.remoteAddress ?? '-', t.local, `${t.activeConnections}/${t.totalConnections}`, formatBytes(t.bytesIn), formatBytes(t.bytesOut)]);
    }
    lines.push('', table(rows));
    for (const t of s.tunnels) if (t.error) lines.push(`  ${t.name}: ${t.error}`);
  }
  if (s.visitors.length > 0) {
    const rows = [['VISITOR', 'TUNNEL', 'STATE', 'BIND', 'CONNS', 'IN', 'OUT']];
    for (const v of s.visitors) {
      rows.push([v.name, v.tunnel, v.state, v.bind, `${v.activeConnections}/${v.totalConnections}`, formatBytes(v.bytesIn), formatBytes(v.bytesOut)]);
    }
    lines.push('', table(rows));
    for (const v of s.visitors) if (v.error) lines.push(`  ${v.name}: ${v.error}`);
  }
  return lines.join('\n');
}
