/**
 * A STUN Binding (RFC 8489) sent on the UDX socket that will carry the direct path, so the
 * server-reflexive candidate it learns is the mapping of that very socket. Thin I/O adapter: the
 * request and the response are the codec's (engine/stun/stun-client.ts); this only sends,
 * retransmits (RFC 8489 §6.2.1: doubling RTO) and picks the response out of the socket's
 * non-udx datagrams by transaction id.
 */
import { randomBytes } from 'node:crypto';
import type { UdxSocket } from 'udx-native';
import { decodeStun, isStunMessage, newTransactionId } from '../../shared/stun/message.js';
import { buildBindingRequest, parseBindingResponse, transportAddress, type StunBindingResult } from '../stun/stun-client.js';

export interface UdxBindingOptions {
  /** First retransmission timeout (ms). Default 100: the server is Burrow's own, close by. */
  readonly rtoMs?: number;
  /** Total sends (Rc). Default 4 (about 1.5 s before giving up, with the last wait). */
  readonly maxSends?: number;
}

/** Resolves with the binding, or undefined when the server never answered (a candidate less, not an error). */
export function udxStunBinding(socket: UdxSocket, server: { host: string; port: number }, opts: UdxBindingOptions = {}): Promise<StunBindingResult | undefined> {
  const rto = opts.rtoMs ?? 100;
  const maxSends = opts.maxSends ?? 4;
  const id = newTransactionId(randomBytes);
  const request = buildBindingRequest(id);
  const started = performance.now();
  return new Promise((resolve) => {
    let sends = 0;
    let timer: NodeJS.Timeout | undefined;
    const done = (result: StunBindingResult | undefined) => {
      clearTimeout(timer);
      socket.off('message', onMessage);
      resolve(result);
    };
    const onMessage = (data: Buffer, from: { host: string; port: number }) => {
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      if (!isStunMessage(bytes)) return;
      let msg;
      try {
        msg = decodeStun(bytes);
      } catch {
        return;
      }
      if (!msg.transactionId.every((b, i) => b === id[i])) return;
      try {
        done(parseBindingResponse(msg, performance.now() - started, transportAddress(server.host, server.port), transportAddress(from.host, from.port)));
      } catch {
        done(undefined);
      }
    };
    const send = () => {
      if (sends >= maxSends) return done(undefined);
      sends++;
      socket.send(request, server.port, server.host).catch(() => {});
      // RFC 8489 §6.2.1: the RTO doubles after each retransmission; after the last, wait one more RTO x 2.
      timer = setTimeout(send, rto * 2 ** (sends - 1) * (sends === maxSends ? 2 : 1));
      timer.unref?.();
    };
    socket.on('message', onMessage);
    send();
  });
}
