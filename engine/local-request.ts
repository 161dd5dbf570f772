/**
 * Who may ask a local HTTP endpoint (the client's status endpoint; the console when it lands).
 * Pure: header values in, a verdict out.
 *
 * DNS rebinding: a web page on evil.example can make its own name resolve to 127.0.0.1 and then
 * read http://evil.example:7400/ from the victim's browser as same-origin. The browser still
 * sends `Host: evil.example:7400`, so an endpoint that accepts only loopback Host values (and,
 * when the request carries an Origin, only loopback origins) cannot be read that way.
 */

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1']);

function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return LOOPBACK_NAMES.has(h) || h.endsWith('.localhost') || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** "host:port", "[v6]:port" or "host" -> parts; undefined when malformed. */
function splitAuthority(authority: string): { host: string; port: number | undefined } | undefined {
  const m = /^\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?$/.exec(authority) ?? /^([^:\s[\]/@]+)(?::(\d{1,5}))?$/.exec(authority);
  if (!m) return undefined;
  return { host: m[1]!, port: m[2] === undefined ? undefined : Number(m[2]) };
}

export interface LocalRequestCheck {
  /** The port the endpoint listens on: a Host naming another port is refused. */
  readonly port: number;
  /** The configured listen host (e.g. "192.168.1.5"): accepted as a Host value too. */
  readonly listenHost?: string;
}

/**
 * undefined when the request may be answered; otherwise why not. `host` and `origin` are the raw
 * header values (undefined when absent).
 */
export function refuseNonLocal(host: string | undefined, origin: string | undefined, check: LocalRequestCheck): string | undefined {
  if (host === undefined) return 'missing Host header';
  const h = splitAuthority(host.trim());
  if (!h) return 'malformed Host header';
  const knownHost = isLoopbackHost(h.host) || (check.listenHost !== undefined && h.host.toLowerCase() === check.listenHost.toLowerCase());
  if (!knownHost) return `Host "${host}" is not a loopback address`;
  // A browser omits the port only for port 80.
  if ((h.port ?? 80) !== check.port) return `Host "${host}" names another port`;
  if (origin === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return `Origin "${origin}" is not a loopback origin`;
  }
  const originHost = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !isLoopbackHost(originHost)) {
    return `Origin "${origin}" is not a loopback origin`;
  }
  return undefined;
}
