/**
 * The window's pages come from `burrow://app/`, a custom protocol serving the built renderer
 * (dist/renderer), not file:// (which would give the page every file on the disk as its origin).
 * Every response carries the strict Content-Security-Policy.
 */
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { protocol } from 'electron';

export const APP_SCHEME = 'burrow';
export const APP_HOST = 'app';
export const APP_URL = `${APP_SCHEME}://${APP_HOST}/index.html`;

/**
 * Scripts, styles, images and fonts from the app itself only; no network (the renderer talks to the
 * engine over IPC), no inline script, no eval, no plugins, no framing, no forms.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'none'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

/** Whether `url` is a page of the app (burrow://app/...). */
export function isAppUrl(url: string | undefined): boolean {
  if (!url) return false;
  try {
    const u = new URL(url);
    return u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST;
  } catch {
    return false;
  }
}

/** Must run before the app is ready: a standard, secure scheme, so ES modules and 'self' work. */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
}

export function handleAppProtocol(rendererDir: string): void {
  protocol.handle(APP_SCHEME, (request) => serveAppFile(request.url, rendererDir));
}

/** One response for burrow://app/<path>: the file under rendererDir, or 404; never a file outside it. */
export async function serveAppFile(url: string, rendererDir: string): Promise<Response> {
  const headers = { 'content-security-policy': CONTENT_SECURITY_POLICY, 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' };
  if (!isAppUrl(url)) return new Response('not found', { status: 404, headers });
  let pathname: string;
  try {
    pathname = decodeURIComponent(new URL(url).pathname);
  } catch {
    return new Response('bad path', { status: 400, headers });
  }
  const root = normalize(rendererDir + sep);
  const file = join(root, normalize(pathname === '/' ? '/index.html' : pathname));
  if (!file.startsWith(root)) return new Response('not found', { status: 404, headers });
  try {
    const body = await readFile(file);
    return new Response(body, { status: 200, headers: { ...headers, 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' } });
  } catch {
    const missingPage = pathname === '/' || pathname === '/index.html';
    return new Response(missingPage ? 'the Burrow page is not built: run npm run build' : 'not found', { status: 404, headers: { ...headers, 'content-type': 'text/plain' } });
  }
}
