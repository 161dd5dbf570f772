import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeMessage } from '../shared/protocol/messages.js';
import { FramedConnection } from './framed-connection.js';

const open: Socket[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.destroy();
});

/** A connected socket pair on loopback: [writer side, reader side]. */
async function pair(): Promise<[Socket, Socket]> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const writer = connect((server.address() as AddressInfo).port, '127.0.0.1');
  const reader = await accepted;
  server.close();
  open.push(writer, reader);
  return [writer, reader];
}

function readAll(socket: Readable): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.once('end', () => resolve(Buffer.concat(chunks)));
    socket.resume(); // release() hands the socket back paused
  });
}

const start = encodeMessage({ type: 'StartWorkConn', tunnel: 'ssh', connId: 1, srcAddr: '127.0.0.1', srcPort: 5000 });
// User bytes that are themselves valid frames: they must not be taken for protocol messages.
const userBytes = Buffer.concat([Buffer.from(encodeMessage({ type: 'Ping', time: 7 })), Buffer.from(encodeMessage({ type: 'ReqWorkConn' })), Buffer.from('rest')]);

describe('FramedConnection', () => {
  it('hands every byte after the switching message to the raw reader, even frame-shaped ones in the same write', async () => {
    const [writer, reader] = await pair();
    const conn = new FramedConnection(reader);
    conn.rawAfter = (m) => m.type === 'StartWorkConn';
    writer.end(Buffer.concat([Buffer.from(start), userBytes]));
    const first = await conn.next(2000);
    expect(first.type).toBe('StartWorkConn');
    const raw = conn.release();
    expect((await readAll(raw)).equals(userBytes)).toBe(true);
  });

  it('keeps decoding frames when no switch is declared', async () => {
    const [writer, reader] = await pair();
    const conn = new FramedConnection(reader);
    writer.write(Buffer.concat([Buffer.from(start), userBytes.subarray(0, userBytes.length - 4)]));
    const types = [(await conn.next(2000)).type, (await conn.next(2000)).type, (await conn.next(2000)).type];
    expect(types).toEqual(['StartWorkConn', 'Ping', 'ReqWorkConn']);
  });

  it('a bad frame closes only this connection, with an Error frame naming the reason', async () => {
    const [writer, reader] = await pair();
    const conn = new FramedConnection(reader);
    const failed = new Promise<Error>((r) => (conn.onFailure = r));
    const reply = readAll(writer);
    writer.write(Buffer.from([7, 1, 0, 0, 0, 0]));
    expect((await failed).message).toMatch(/unsupported protocol version 7/);
    const bytes = await reply;
    expect(bytes[1]).toBe(14); // MessageType.Error
    expect(JSON.parse(bytes.subarray(6).toString())).toMatchObject({ code: 'bad-version' });
  });
});
