import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { editTunnels, readTunnelsAsWritten, writeConnection } from './config-edit.js';
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

  it('switches a visitor off and on in its own entry, keeping the comments', async () => {
    const path = await file(`${base}visitors:\n  # the office NAS\n  - name: nas\n    tunnel: nas\n    secret: visitor-secret-1\n    bind: 127.0.0.1:4450\n`);
    await editTunnels(path, { op: 'setVisitorEnabled', name: 'nas', enabled: false });
    const off = await loadClientConfig(path);
    expect(off.visitors[0]?.enabled).toBe(false);
    expect(off.tunnels[0]?.enabled).toBeUndefined();
    expect(await readFile(path, 'utf8')).toContain('# the office NAS');
    await editTunnels(path, { op: 'setVisitorEnabled', name: 'nas', enabled: true });
    expect(await readFile(path, 'utf8')).not.toContain('enabled');
    await expect(editTunnels(path, { op: 'setVisitorEnabled', name: 'ssh', enabled: false })).rejects.toThrow('no visitor named "ssh"');
    await expect(editTunnels(await file(), { op: 'setVisitorEnabled', name: 'nas', enabled: false })).rejects.toThrow('no visitor named "nas"');
  });

  it('adds the first tunnel to a file without a tunnels list', async () => {
    const path = await file('server: relay.example:7000\ntoken: secret-token-123\n');
    await editTunnels(path, { op: 'add', tunnel: { name: 'web', type: 'tcp', local: '127.0.0.1:8080', remotePort: 0 } });
    expect((await loadClientConfig(path)).tunnels).toHaveLength(1);
  });
});

describe('editTunnels save (as typed) and writeConnection', () => {
  it('replaces a tunnel in place: unchanged keys keep their spelling and comments, enabled: false survives', async () => {
    const path = await file(`${base}    bandwidth: 10MB # per direction\n    enabled: false\n`);
    await editTunnels(path, { op: 'save', original: 'ssh', tunnel: { name: 'ssh', type: 'tcp', local: '127.0.0.1:2222', remotePort: 6022, bandwidth: '10MB' } });
    const text = await readFile(path, 'utf8');
    expect(text).toContain('# ssh for the office');
    expect(text).toContain('bandwidth: 10MB # per direction');
    expect(text).toContain('local: 127.0.0.1:2222');
    expect(text).toContain('enabled: false');
    expect((await loadClientConfig(path)).tunnels[0]).toMatchObject({ bandwidth: 10_000_000, enabled: false });
  });

  it('adds a tunnel as typed and drops keys the form left empty', async () => {
    const path = await file();
    await editTunnels(path, { op: 'save', tunnel: { name: 'game', type: 'p2p', local: '127.0.0.1:7777', secret: 'a-p2p-secret', protocol: 'udp', bandwidth: '512KiB', enabled: true } });
    const text = await readFile(path, 'utf8');
    expect(text).toContain('bandwidth: 512KiB');
    expect(text).not.toContain('enabled');
    expect((await readTunnelsAsWritten(path)).at(-1)).toEqual({ name: 'game', type: 'p2p', local: '127.0.0.1:7777', secret: 'a-p2p-secret', protocol: 'udp', bandwidth: '512KiB' });
  });

  it('writes server and token into an existing file, or creates the file and its directory', async () => {
    const path = await file();
    await writeConnection(path, { server: 'other.example:7000', token: 'another-token-456', tls: false });
    const text = await readFile(path, 'utf8');
    expect(text).toContain('# my laptop');
    expect(text).toContain('server: other.example:7000');
    expect(text).toContain('tls: false');
    expect((await loadClientConfig(path)).tunnels.map((t) => t.name)).toEqual(['ssh']);
    const fresh = join(await mkdtemp(join(tmpdir(), 'burrow-edit-')), 'burrow', 'client.yaml');
    await writeConnection(fresh, { server: 'relay.example:7000', token: 'fresh-token-789', tls: true });
    expect(await loadClientConfig(fresh)).toMatchObject({ server: 'relay.example:7000', tls: true, tunnels: [] });
    await expect(writeConnection(fresh, { server: 'no port', token: 'fresh-token-789', tls: true })).rejects.toThrow(/server/);
  });
});
