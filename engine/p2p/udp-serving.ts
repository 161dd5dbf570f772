/**
 * The serving side of a p2p tunnel with `protocol: udp` (issue 9). The visitor turns each user
 * address into a session; here each session gets its own connected socket to the local service
 * (engine/tunnels/local-udp-sessions.ts, with the tunnel's idleTimeout), so replies go back to the
 * session they answer.
 *
 * - Direct path: every session of one visitor shares the path's encrypted datagram channel
 *   (DirectTransport.sendDatagram); each message is a direct frame naming its session
 *   (shared/p2p/datagram-frame.ts). Session ids are the visitor's, so they are kept per path.
 * - Relay: each session is its own relay stream with length-prefixed datagrams; the stream ends
 *   when the session goes idle here, and the local socket closes when the stream ends.
 */
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { TunnelConfigOf } from '../../shared/config/client-config.js';
import { DatagramFrameError, decodeDirectFrame, encodeDirectFrame, encodeRelayDatagram, MAX_DIRECT_PAYLOAD, RelayDatagramReader } from '../../shared/p2p/datagram-frame.js';
import type { PathCounters } from '../../shared/types/status.js';
import type { ClientTunnel } from '../client-tunnel.js';
import { LocalUdpSessions } from '../tunnels/local-udp-sessions.js';
import type { DirectTransport } from './direct-transport.js';

type P2pTunnel = ClientTunnel<TunnelConfigOf<'p2p'>>;

/** Default idle timeout of a p2p udp session (seconds). */
export const DEFAULT_P2P_UDP_IDLE_S = 60;

/** A relay stream with more unsent bytes than this drops replies (UDP semantics) instead of queueing. */
const MAX_RELAY_BUFFERED = 1024 * 1024;

export function idleMsOf(tunnel: P2pTunnel): number {
  return (tunnel.config.idleTimeout ?? DEFAULT_P2P_UDP_IDLE_S) * 1000;
}

/** Serves one direct path's datagrams until the path closes. */
export function serveDirectDatagrams(transport: DirectTransport, tunnel: P2pTunnel, counters: PathCounters, logger: Logger, onDrop: () => void = () => {}): void {
  let badFrames = 0;
  const sessions = new LocalUdpSessions({
    local: tunnel.config.local,
    idleMs: idleMsOf(tunnel),
    clock: tunnel.clock,
    logger,
    onOpen: () => {
      tunnel.stats.opened();
      counters.connections++;
    },
    onClose: () => tunnel.stats.closed(),
    onReply: (key, reply) => {
      if (reply.length > MAX_DIRECT_PAYLOAD) {
        logger.debug({ tunnel: tunnel.name, bytes: reply.length }, `reply larger than the direct path carries (${MAX_DIRECT_PAYLOAD} bytes) dropped`);
        return onDrop();
      }
      if (!transport.sendDatagram(encodeDirectFrame({ kind: 'data', session: Number(key), payload: reply }))) return onDrop();
      tunnel.stats.bytesOut += reply.length;
      counters.bytesOut += reply.length;
    },
  });
  transport.on('datagram', (message: Buffer) => {
    let frame;
    try {
      frame = decodeDirectFrame(message);
    } catch (err) {
      // the peer holds the secret, so this is a bug or another version: say so once in a while
      if (err instanceof DatagramFrameError && badFrames++ % 1000 === 0) logger.warn({ tunnel: tunnel.name, err: err.message }, 'bad datagram frame on the direct path dropped');
      return;
    }
    const key = String(frame.session);
    if (frame.kind === 'close') return sessions.close(key);
    tunnel.stats.bytesIn += frame.payload.length;
    counters.bytesIn += frame.payload.length;
    sessions.send(key, frame.payload);
  });
  transport.once('close', () => sessions.closeAll());
}

/** Serves one relay stream: one visitor session's datagrams, length-prefixed. Resolves when it is over. */
export async function serveRelayDatagrams(stream: Duplex, tunnel: P2pTunnel, logger: Logger): Promise<void> {
  const reader = new RelayDatagramReader();
  await new Promise<void>((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      sessions.closeAll();
      if (!stream.destroyed) stream.destroy();
      resolve();
    };
    const sessions = new LocalUdpSessions({
      local: tunnel.config.local,
      idleMs: idleMsOf(tunnel),
      clock: tunnel.clock,
      logger,
      onOpen: () => tunnel.stats.opened(),
      // idle here: the stream ends too, and the visitor opens a new one for its next datagram
      onClose: () => {
        tunnel.stats.closed();
        if (!done) stream.end();
      },
      onReply: (_key, reply) => {
        if (stream.writableLength > MAX_RELAY_BUFFERED || !stream.writable) return;
        tunnel.stats.bytesOut += reply.length;
        stream.write(encodeRelayDatagram(reply));
      },
    });
    stream.on('data', (chunk: Buffer) => {
      let datagrams;
      try {
        datagrams = reader.push(chunk);
      } catch (err) {
        logger.warn({ tunnel: tunnel.name, err: (err as Error).message }, 'relay stream is not speaking datagram framing; closed');
        return finish();
      }
      for (const d of datagrams) {
        tunnel.stats.bytesIn += d.length;
        sessions.send('relay', d);
      }
    });
    stream.on('error', finish);
    stream.on('end', finish);
    stream.on('close', finish);
    stream.resume(); // a released work connection may have been paused explicitly: 'data' alone would not start it
  });
}
