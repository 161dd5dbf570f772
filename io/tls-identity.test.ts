import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureSelfSignedIdentity, generateHere, generateInChild, type IdentityGenerator } from './tls-identity.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** What a client pins and a TLS server needs: a key that belongs to the certificate, for ~10 years. */
function expectUsable(pems: { cert: string; key: string }): void {
  const cert = new X509Certificate(pems.cert);
  expect(cert.subject).toBe('CN=burrow-server');
  expect(cert.checkPrivateKey(createPrivateKey(pems.key))).toBe(true);
  expect(cert.publicKey.asymmetricKeyType).toBe('ec');
  expect(cert.verify(cert.publicKey)).toBe(true); // self-signed
  const years = (Date.parse(cert.validTo) - Date.now()) / (365 * 24 * 3600 * 1000);
  expect(years).toBeGreaterThan(9.9);
}

describe('the self-signed identity', () => {
  it('is made in a node child process, and is usable', async () => {
    expectUsable(await generateInChild());
  }, 30_000);

  it('is made the same way in this process, the fallback', async () => {
    expectUsable(await generateHere());
  }, 30_000);

  it('is made once, kept with a private key only its owner can read, and found again on the next start', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'burrow-identity-'));
    dirs.push(dir);
    let made = 0;
    const counting: IdentityGenerator = async () => (made++, generateHere());
    const first = await ensureSelfSignedIdentity(join(dir, 'state'), counting);
    const again = await ensureSelfSignedIdentity(join(dir, 'state'), counting);
    expect(made).toBe(1);
    expect([first.created, again.created]).toEqual([true, false]);
    expect(again.fingerprint).toBe(first.fingerprint);
    expect((await stat(join(dir, 'state', 'server-key.pem'))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(dir, 'state', 'server-cert.pem'), 'utf8')).toBe(first.cert);
  }, 30_000);

  it('says why when the certificate cannot be made, and writes nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'burrow-identity-'));
    dirs.push(dir);
    await expect(ensureSelfSignedIdentity(dir, () => Promise.reject(new Error('no entropy')))).rejects.toThrow('no entropy');
    await expect(stat(join(dir, 'server-key.pem'))).rejects.toThrow(/ENOENT/);
  });
});
