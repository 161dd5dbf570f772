/** `burrow status [--admin HOST:PORT | --config client.yaml] [--json]` */
import { loadClientConfig } from '../io/config-loader.js';
import { parseHostPort } from '../shared/net/address.js';
import type { ClientStatus } from '../shared/types/status.js';
import { parseFlags, UsageError, withExitCode } from './args.js';
import { formatStatus } from './format.js';

export function runStatus(argv: string[]): Promise<number> {
  return withExitCode(async () => {
    const flags = parseFlags(argv, {
      admin: { type: 'string' },
      config: { type: 'string', short: 'c' },
      json: { type: 'boolean' },
    });
    let admin = flags.admin;
    if (!admin && flags.config) {
      const config = await loadClientConfig(flags.config);
      if (config.admin === false) throw new UsageError(`${flags.config}: the status endpoint is disabled (admin: false)`);
      admin = config.admin.listen;
    }
    admin ??= '127.0.0.1:7400';
    const hp = parseHostPort(admin);
    if (!hp) throw new UsageError(`--admin expects HOST:PORT, got "${admin}"`);
    let status: ClientStatus;
    try {
      const res = await fetch(`http://${admin}/status`, { signal: AbortSignal.timeout(5000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      status = (await res.json()) as ClientStatus;
    } catch (err) {
      const reason = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
      if (flags.json) console.log(JSON.stringify({ error: `no client answering at ${admin}: ${reason}` }));
      else console.error(`burrow: no client answering at ${admin} (${reason}); is \`burrow client\` running?`);
      return 1;
    }
    console.log(flags.json ? JSON.stringify(status, null, 2) : formatStatus(status));
    return 0;
  }, argv);
}
