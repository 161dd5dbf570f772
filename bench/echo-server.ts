/**
 * Echo target for the relay benchmark, run as its own process so it does not share an
 * event loop (or core) with the load generator.
 *
 *   node dist/bench/echo-server.js [port]
 *
 * Prints one JSON line `{"port":N}` on stdout once listening; exits when stdin closes
 * (i.e. when the benchmark that spawned it goes away).
 */
import net from 'node:net';

const port = Number(process.argv[2] ?? 0);

const server = net.createServer({ noDelay: true }, (socket) => {
  socket.on('error', () => socket.destroy());
  socket.pipe(socket);
});

server.on('error', (err) => {
  process.stderr.write(`echo-server: ${err.message}\n`);
  process.exit(1);
});

server.listen({ host: '127.0.0.1', port, backlog: 4096 }, () => {
  const addr = server.address();
  const actual = typeof addr === 'object' && addr ? addr.port : 0;
  process.stdout.write(`${JSON.stringify({ port: actual })}\n`);
});

process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
