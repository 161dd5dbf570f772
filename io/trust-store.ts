/**
 * Trust on first use for server certificates: the first fingerprint seen for a server is
 * remembered in the client's state directory; a different one later is refused.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export class TrustStore {
  private readonly file: string;
  constructor(stateDir: string) {
    this.file = join(stateDir, 'known-servers.json');
  }

  async get(server: string): Promise<string | undefined> {
    return (await this.read())[server];
  }

  async remember(server: string, fingerprint: string): Promise<void> {
    const all = await this.read();
    all[server] = fingerprint;
    await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(all, null, 2)}\n`, { mode: 0o600 });
    await rename(tmp, this.file);
  }

  private async read(): Promise<Record<string, string>> {
    try {
      const parsed: unknown = JSON.parse(await readFile(this.file, 'utf8'));
      return parsed && typeof parsed === 'object' ? (parsed as Record<string, string>) : {};
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw new Error(`${this.file}: unreadable (${(err as Error).message})`);
    }
  }
}
