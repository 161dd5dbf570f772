/**
 * A helper process the p2p benchmark runs inside a lab namespace (`ip netns exec NS node
 * netns-agent.js`): the benchmark itself lives in the machine's namespace and cannot reach a lab
 * host's loopback, so it asks this agent, one JSON line per request on stdin, one per answer on
 * stdout ({id, ok, ...} or {id, ok: false, error}).
 *
 *   {"id":1,"op":"status","port":7400}                       GET http://127.0.0.1:7400/status
 *   {"id":2,"op":"echoServer"}                               → {"port":N} an echo server on 127.0.0.1
 *   {"id":3,"op":"roundTrip","port":N,"bytes":1024,"timeoutMs":5000}
 *        connect to 127.0.0.1:N, send the bytes, read them back → {"ms": connect to last byte}
 */
import net from 'node:net';
import { createInterface } from 'node:readline';

interface Request {
  id: number;
  op: string;
  port?: number;
  bytes?: number;
  timeoutMs?: number;
}

const reply = (obj: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
};

async function status(port: number): Promise<unknown> {
  const res = await fetch(`http://127.0.0.1:${port}/status`, { signal: AbortSignal.timeout(2000) });
  if (!res.ok) throw new Error(`status endpoint answered HTTP ${res.status}`);
  return res.json();
}

function echoServer(): Promise<number> {
  const srv = net.createServer((s) => {
    s.on('error', () => s.destroy());
    s.pipe(s);
  });
  return new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve((srv.address() as net.AddressInfo).port));
  });
}

/** Milliseconds from the start of the connect to the last echoed byte. */
function roundTrip(port: number, bytes: number, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const payload = Buffer.alloc(bytes, 0x5a);
    let got = 0;
    const s = net.connect(port, '127.0.0.1');
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no full echo within ${timeoutMs} ms (${got}/${bytes} bytes back)`));
    }, timeoutMs);
    s.once('connect', () => s.write(payload));
    s.on('data', (d: Buffer) => {
      got += d.length;
      if (got >= bytes) {
        clearTimeout(timer);
        const ms = performance.now() - t0;
        s.destroy();
        resolve(ms);
      }
    });
    s.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    s.once('close', () => {
      if (got < bytes) {
        clearTimeout(timer);
        reject(new Error(`connection closed after ${got}/${bytes} bytes back`));
      }
    });
  });
}

async function handle(req: Request): Promise<Record<string, unknown>> {
  switch (req.op) {
    case 'ping':
      return {};
    case 'status':
      return { status: await status(req.port ?? 7400) };
    case 'echoServer':
      return { port: await echoServer() };
    case 'roundTrip':
      return { ms: await roundTrip(req.port!, req.bytes ?? 1024, req.timeoutMs ?? 5000) };
    default:
      throw new Error(`unknown op ${req.op}`);
  }
}

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  let req: Request;
  try {
    req = JSON.parse(line) as Request;
  } catch {
    reply({ id: -1, ok: false, error: `not JSON: ${line.slice(0, 80)}` });
    return;
  }
  handle(req).then(
    (r) => reply({ id: req.id, ok: true, ...r }),
    (err: unknown) => reply({ id: req.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});
// the benchmark went away: so do we
rl.once('close', () => process.exit(0));
