import dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { StunClass, StunMethod } from '../../shared/stun/constants.js';
import { decodeStun } from '../../shared/stun/message.js';
import { bindingRequests, sendBurst } from './turn-burst.js';

describe('turn burst', () => {
  it('builds Binding requests a STUN decoder accepts, each with its own transaction ID', () => {
    const all = bindingRequests(50);
    expect(all.length).toBe(50 * 20);
    const ids = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const m = decodeStun(all.subarray(i * 20, i * 20 + 20));
      expect(m.method).toBe(StunMethod.Binding);
      expect(m.cls).toBe(StunClass.Request);
      ids.add(Buffer.from(m.transactionId).toString('hex'));
    }
    expect(ids.size).toBe(50);
  });

  it('sends every request and counts only the success responses that come back', async () => {
    const server = dgram.createSocket('udp4');
    await new Promise<void>((r) => server.bind(0, '127.0.0.1', () => r()));
    let seen = 0;
    server.on('message', (m, rinfo) => {
      seen++;
      // Answer every other request with a Binding success response (0x0101), the rest with an error (0x0111).
      const reply = Buffer.from(m);
      reply.writeUInt16BE(seen % 2 === 0 ? 0x0101 : 0x0111, 0);
      server.send(reply, rinfo.port, rinfo.address);
    });
    try {
      const r = await sendBurst({ host: '127.0.0.1', port: server.address().port, count: 200, spreadMs: 20, drainMs: 200 });
      expect(r.sent).toBe(200);
      expect(seen).toBe(200);
      expect(r.answered).toBe(100);
    } finally {
      server.close();
    }
  });
});
