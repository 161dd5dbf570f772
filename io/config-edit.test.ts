import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { editTunnels } from './config-edit.js';
import { loadClientConfig } from './config-loader.js';

const base = `# my laptop
server: relay.example:7000
token: secret-token-123
tunnels:
  # ssh for the office
  - name: ssh
    type: tcp
    local: 127.0.0.1:22
    remotePort: 6022
`;

async function file(text = base): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'burrow-edit-'));
  const path = join(dir, 'client.yaml');
  await writeFile(path, text);
  return path;
}

describe('editTunnels', () => {
  it('adds a tunnel and keeps the comments', async () => {
    const path = await file();
    await editTunnels(path, { op: 'add', tunnel: { name: 'web', type: 'tcp', local: '127.0.0.1:8080', remotePort: 0 } });
    const text = await readFile(path, 'utf8');
    expect(text).toContain('# my laptop');
    expect(text).toContain('# ssh for the office');
    expect((await loadClientConfig(path)).tunnels.map((t) => t.name)).toEqual(['ssh', 'web']);
    expect(await readdir(join(path, '..'))).toEqual(['client.yaml']);
  });

  it('refuses a duplicate name and leaves the file as it was', async () => {
    const path = await file();
    await expect(editTunnels(path, { op: 'add', tunnel: { name: 'ssh', type: 'tcp', local: '127.0.0.1:80', remotePort: 0 } })).rejects.toThrow(/duplicate tunnel name "ssh"/);
    expect(await readFile(path, 'utf8')).toBe(base);
  });

  it('switches a tunnel off and on, edits and removes it', async () => {
    const path = await file();
    await editTunnels(path, { op: 'setEnabled', name: 'ssh', enabled: false });
    expect((await loadClientConfig(path)).tunnels[0]?.enabled).toBe(false);
    await editTunnels(path, { op: 'setEnabled', name: 'ssh', enabled: true });
    expect(await readFile(path, 'utf8')).not.toContain('enabled');
    await editTunnels(path, { op: 'update', name: 'ssh', tunnel: { name: 'ssh2', type: 'tcp', local: '127.0.0.1:2222', remotePort: 6023 } });
    expect((await loadClientConfig(path)).tunnels).toMatchObject([{ name: 'ssh2', remotePort: 6023 }]);
    await editTunnels(path, { op: 'remove', name: 'ssh2' });
    expect((await loadClientConfig(path)).tunnels).toEqual([]);
    await expect(editTunnels(path, { op: 'remove', name: 'nope' })).rejects.toThrow('no tunnel named "nope"');
  });

  it('adds the first tunnel to a file without a tunnels list', async () => {
    const path = await file('server: relay.example:7000\ntoken: secret-token-123\n');
    await editTunnels(path, { op: 'add', tunnel: { name: 'web', type: 'tcp', local: '127.0.0.1:8080', remotePort: 0 } });
    expect((await loadClientConfig(path)).tunnels).toHaveLength(1);
  });
});
