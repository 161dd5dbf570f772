/** The built-in demo web page "Try it locally" exposes: a small page on loopback, port 0. */
import { createServer, type Server } from 'node:http';

const FILLER = 'Burrow carries this page from a private port on your machine through the relay. '.repeat(200);

export async function startDemoPage(): Promise<Server> {
  let visits = 0;
  const server = createServer((_req, res) => {
    visits++;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(
      `<!doctype html><meta charset="utf-8"><title>Hello from behind the NAT</title><h1>Hello from behind the NAT!</h1>` +
        `<p>This page is served on a private port and relayed by Burrow. Visit #${visits}.</p><p hidden>${FILLER}</p>`,
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
  });
  return server;
}
