/**
 * Test support: a connected TCP socket pair on loopback (port 0), for the tests of the data path
 * (splice, mux, visitors). `track` is given a function that destroys both ends (the test's cleanup).
 */
import { once } from 'node:events';
import net from 'node:net';

export async function loopbackPair(track: (cleanup: () => void) => void, options: { allowHalfOpen?: boolean } = {}): Promise<[net.Socket, net.Socket]> {
  const allowHalfOpen = options.allowHalfOpen ?? false;
  const server = net.createServer({ allowHalfOpen });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[net.Socket]>;
  const client = net.connect({ port: (server.address() as net.AddressInfo).port, host: '127.0.0.1', allowHalfOpen });
  await once(client, 'connect');
  const [other] = await accepted;
  server.close();
  track(() => {
    client.destroy();
    other.destroy();
  });
  return [client, other];
}
