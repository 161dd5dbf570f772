/**
 * The server's TLS identity: a configured certificate, or a self-signed one created on first
 * start in the state directory and reused afterwards. Clients pin its SHA-256 fingerprint.
 */
import { X509Certificate } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface TlsIdentity {
  readonly cert: string;
  readonly key: string;
  /** "AB:CD:…" SHA-256 of the DER certificate. */
  readonly fingerprint: string;
  /** True when this call created the certificate. */
  readonly created: boolean;
}

export function certificateFingerprint(certPem: string | Buffer): string {
  return new X509Certificate(certPem).fingerprint256;
}

/** Normalise "abcd…" or "AB:CD:…" to "AB:CD:…". */
export function normalizeFingerprint(text: string): string {
  const hex = text.replace(/:/g, '').toUpperCase();
  return hex.match(/../g)?.join(':') ?? hex;
}

export async function loadIdentity(certFile: string, keyFile: string): Promise<TlsIdentity> {
  const [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
  return { cert, key, fingerprint: certificateFingerprint(cert), created: false };
}

export async function ensureSelfSignedIdentity(stateDir: string): Promise<TlsIdentity> {
  const certFile = join(stateDir, 'server-cert.pem');
  const keyFile = join(stateDir, 'server-key.pem');
  try {
    return await loadIdentity(certFile, keyFile);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const notAfterDate = new Date(Date.now() + 10 * 365 * 24 * 3600 * 1000);
  // selfsigned pulls in node-forge: load it only on the first start, when a certificate is made.
  const { generate } = await import('selfsigned');
  const pems = await generate([{ name: 'commonName', value: 'burrow-server' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notAfterDate,
  } as Parameters<typeof generate>[1]);
  await writeFile(keyFile, pems.private, { mode: 0o600, flag: 'wx' });
  await writeFile(certFile, pems.cert, { mode: 0o644, flag: 'wx' });
  return { cert: pems.cert, key: pems.private, fingerprint: certificateFingerprint(pems.cert), created: true };
}
