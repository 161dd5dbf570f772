/**
 * The server's TLS identity: a configured certificate, or a self-signed one created on first
 * start in the state directory and reused afterwards. Clients pin its SHA-256 fingerprint.
 */
import { execFile } from 'node:child_process';
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

/** A new self-signed certificate and its private key, PEM. */
export type IdentityGenerator = () => Promise<{ cert: string; key: string }>;

const SUBJECT = [{ name: 'commonName', value: 'burrow-server' }];
/** selfsigned's options, but for `notAfterDate`, which is given in ms (it must cross a process boundary as JSON). */
const generatorOptions = () => ({ keyType: 'ec', algorithm: 'sha256', notAfterMs: Date.now() + 10 * 365 * 24 * 3600 * 1000 });

/** In this process: selfsigned and node-forge stay loaded for as long as it runs (+5.7 MB RSS measured). */
export const generateHere: IdentityGenerator = async () => {
  const { generate } = await import('selfsigned');
  const { notAfterMs, ...options } = generatorOptions();
  const pems = await generate(SUBJECT, { ...options, notAfterDate: new Date(notAfterMs) } as Parameters<typeof generate>[1]);
  return { cert: pems.cert, key: pems.private };
};

/**
 * In a short-lived node child, so that the server never loads the generator's modules: an idle
 * server that made its certificate on this start sat 4.6–5.7 MB above one that found it on disk
 * (a worker thread gave back only 3.6 MB of it; issue 12, docs/BENCHMARKS.md). The PEMs come back
 * over the child's stdout pipe. Rejects when no child can run (process.execPath is not node, a
 * sandbox without spawn) or it printed no certificate.
 */
export const generateInChild: IdentityGenerator = async () => {
  const moduleUrl = import.meta.resolve('selfsigned');
  const code = [
    `const { generate } = await import(${JSON.stringify(moduleUrl)});`,
    `const { notAfterMs, ...options } = ${JSON.stringify(generatorOptions())};`,
    `const p = await generate(${JSON.stringify(SUBJECT)}, { ...options, notAfterDate: new Date(notAfterMs) });`,
    `process.stdout.write(JSON.stringify({ cert: p.cert, key: p.private }));`,
  ].join('\n');
  const out = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', code], { timeout: 60_000, maxBuffer: 1 << 20, env: {} }, (err, stdout) =>
      err ? reject(err) : resolve(stdout),
    );
  });
  const pems = JSON.parse(out) as { cert?: unknown; key?: unknown };
  if (typeof pems.cert !== 'string' || typeof pems.key !== 'string') throw new Error('the certificate generator printed no certificate');
  return { cert: pems.cert, key: pems.key };
};

/** In a child, or here when no child can run. */
export const generateIdentity: IdentityGenerator = () => generateInChild().catch(() => generateHere());

export async function ensureSelfSignedIdentity(stateDir: string, generate: IdentityGenerator = generateIdentity): Promise<TlsIdentity> {
  const certFile = join(stateDir, 'server-cert.pem');
  const keyFile = join(stateDir, 'server-key.pem');
  try {
    return await loadIdentity(certFile, keyFile);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const { cert, key } = await generate();
  await writeFile(keyFile, key, { mode: 0o600, flag: 'wx' });
  await writeFile(certFile, cert, { mode: 0o644, flag: 'wx' });
  return { cert, key, fingerprint: certificateFingerprint(cert), created: true };
}
