/**
 * Traffic over a punched path (issue 9): one udx stream per user connection, each encrypted and
 * mutually authenticated with Noise (@hyperswarm/secret-stream, pattern IK) with static keys
 * derived from the tunnel secret and the punch session (noise-keys.ts), so only the two peers of
 * this attempt can complete a handshake.
 *
 * Stream ids (udx ids are per process, so each side draws its own from udx-ids.ts, at random): a
 * control stream, ids derived from the secret and the session (controlIds of noiseSeeds), Noise too, carries 9-byte messages
 * [type u8][offerer id u32][answerer id u32]: OPEN (1, the offerer's id of a new stream) and
 * ACCEPT (2, both ids). The offerer's stream is connected, and its handshake sent, once ACCEPT
 * names the answerer's end: one round trip, and no packet ever arrives for an end that does not
 * exist yet. A stream is handed to the service side when its handshake with the offerer's key is done.
 *
 * Datagrams (UDP services): encrypted, unordered, unreliable messages on the control stream
 * (secret-stream's trySend: a nonce and a MAC per message, keys from the same handshake, over
 * udx's stream messages, one UDP packet each). sendDatagram() out, 'datagram' events in; what is
 * in them is the caller's (shared/p2p/datagram-frame.ts). Inside the encryption each datagram
 * starts with an 8-byte sequence number, checked against a sliding window (shared/p2p/replay-window.ts,
 * RFC 4303 §3.4.3), because secret-stream's messages have no replay check of their own: a recorded
 * datagram sent again is dropped and counted. Nothing is queued: a datagram sent while there is no
 * path, or one too large for one packet, is dropped and counted.
 *
 * Close semantics as on the relay (issue 8): end() is a FIN on the other side; a destroyed stream
 * resets the other side's (udx ECONNRESET); a lost path resets every stream in flight.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import NoiseSecretStream, { type KeyPair } from '@hyperswarm/secret-stream';
import type UDX from 'udx-native';
import type { UdxStream } from 'udx-native';
import { nodeDuplexOf, type StreamxDuplex } from '../../io/streamx-duplex.js';
import { nodeStunCrypto } from '../../io/stun-crypto.js';
import { DIRECT_HEADER_LENGTH, MAX_DIRECT_PAYLOAD } from '../../shared/p2p/datagram-frame.js';
import { ReplayWindow } from '../../shared/p2p/replay-window.js';
import type { PunchedPath } from './direct-path.js';
import { noiseSeeds } from './noise-keys.js';
import { controlIds, UdxIdAllocator } from './udx-ids.js';

/** A Noise handshake (or an ACCEPT) that does not come in this long fails the stream. */
const HANDSHAKE_TIMEOUT_MS = 5_000;
const OPEN = 1;
const ACCEPT = 2;
/** Streams the offerer may have waiting for ACCEPT at once. */
const MAX_PENDING_OPENS = 256;

const allocators = new WeakMap<UDX, UdxIdAllocator>();
function idsOf(udx: UDX): UdxIdAllocator {
  let a = allocators.get(udx);
  if (!a) allocators.set(udx, (a = new UdxIdAllocator()));
  return a;
}

export interface DirectTransportCounters {
  bytesIn: number;
  bytesOut: number;
  streams: number;
  /** Streams whose handshake failed (wrong keys: someone without the secret). */
  refusedStreams: number;
  datagramsIn: number;
  datagramsOut: number;
  /** Datagrams not sent: no path (yet, or any more) or larger than MAX_DATAGRAM_BYTES. */
  datagramsDropped: number;
  /** Datagrams received that decrypted but were replays (or too old for the window, or too short). */
  datagramsRejected: number;
}

/** The sequence number in front of each datagram, inside the encryption. */
const SEQ_BYTES = 8;

/** The largest message sendDatagram() takes (udx drops larger ones; 1500-byte frames hold this with all headers). */
export const MAX_DATAGRAM_BYTES = DIRECT_HEADER_LENGTH + MAX_DIRECT_PAYLOAD;

interface PendingOpen {
  readonly raw: UdxStream;
  readonly resolve: (d: Duplex) => void;
  readonly reject: (e: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export class DirectTransport extends EventEmitter {
  readonly counters: DirectTransportCounters = { bytesIn: 0, bytesOut: 0, streams: 0, refusedStreams: 0, datagramsIn: 0, datagramsOut: 0, datagramsDropped: 0, datagramsRejected: 0 };
  private nextSeq = 0;
  private readonly replay = new ReplayWindow();
  private datagramsReady = false;
  private readonly own: KeyPair;
  private readonly peerKey: Buffer;
  private readonly controlSeed: Uint8Array;
  private readonly ids: UdxIdAllocator;
  private control: NoiseSecretStream | undefined;
  private readonly open = new Set<Duplex>();
  private readonly pending = new Map<number, PendingOpen>();
  private closedReason: string | undefined;

  /**
   * Emits 'stream' (Duplex) on the answerer for each stream the offerer opens, 'datagram'
   * (Buffer) on both sides for each datagram of the peer's sendDatagram(), and 'close'
   * (reason) once the path is gone.
   */
  constructor(
    readonly path: PunchedPath,
    secret: string,
    private readonly udx: UDX,
  ) {
    super();
    const seeds = noiseSeeds(nodeStunCrypto.hmacSha256, secret, path.sessionId);
    const offerer = NoiseSecretStream.keyPair(seeds.offerer);
    const answerer = NoiseSecretStream.keyPair(seeds.answerer);
    this.own = path.role === 'offerer' ? offerer : answerer;
    this.peerKey = path.role === 'offerer' ? answerer.publicKey : offerer.publicKey;
    this.controlSeed = seeds.controlIds;
    this.ids = idsOf(udx);
    path.onLost((reason) => this.close(`direct path lost: ${reason}`));
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  get closeReason(): string | undefined {
    return this.closedReason;
  }

  /** Streams open now. */
  get streamCount(): number {
    return this.open.size;
  }

  /** Opens the control stream; resolves once its handshake is done (false: it failed or timed out). */
  async start(): Promise<boolean> {
    const offerer = this.path.role === 'offerer';
    const ctl = controlIds(this.controlSeed);
    const mine = offerer ? ctl.offerer : ctl.answerer;
    if (!this.ids.claim(mine)) {
      this.close('control stream id in use');
      return false;
    }
    const raw = this.udx.createStream(mine);
    raw.once('close', () => this.ids.release(mine));
    raw.connect(this.path.socket, offerer ? ctl.answerer : ctl.offerer, this.path.remote.port, this.path.remote.ip);
    const control = this.noise(raw);
    this.control = control;
    control.on('error', () => {});
    control.on('close', () => this.close('the peer closed the direct path'));
    control.on('data', (msg: Buffer) => this.onControl(msg));
    control.on('message', (msg: Buffer) => {
      // only once the peer is known to be this session's (secret-stream decrypts before that)
      if (!this.datagramsReady || this.closed) return;
      const seq = msg.length >= SEQ_BYTES ? msg.readUInt32BE(0) * 2 ** 32 + msg.readUInt32BE(4) : -1;
      if (!this.replay.check(seq)) {
        this.counters.datagramsRejected++;
        return;
      }
      this.counters.datagramsIn++;
      this.emit('datagram', msg.subarray(SEQ_BYTES));
    });
    const opened = await withTimeout(control.opened, HANDSHAKE_TIMEOUT_MS);
    if (!opened || !this.checkPeer(control)) {
      this.close('the direct path handshake failed (the peer does not hold the tunnel secret)');
      return false;
    }
    this.datagramsReady = true;
    return true;
  }

  /**
   * One encrypted datagram to the peer ('datagram' event there), unordered and unreliable like
   * UDP. False (and counted) when it was dropped: no handshaken path, or over MAX_DATAGRAM_BYTES.
   */
  sendDatagram(data: Uint8Array): boolean {
    if (!this.datagramsReady || this.closed || !this.control || data.length > MAX_DATAGRAM_BYTES) {
      this.counters.datagramsDropped++;
      return false;
    }
    const seq = this.nextSeq++;
    const plain = Buffer.allocUnsafe(SEQ_BYTES + data.length);
    plain.writeUInt32BE(Math.floor(seq / 2 ** 32), 0);
    plain.writeUInt32BE(seq >>> 0, 4);
    plain.set(data, SEQ_BYTES);
    this.control.trySend(plain);
    this.counters.datagramsOut++;
    return true;
  }

  /** Offerer: a new stream to the answerer's side (the service), as a Node Duplex, after one round trip. */
  openStream(): Promise<Duplex> {
    if (this.closed || !this.control || this.path.role !== 'offerer') return Promise.reject(new Error(this.closedReason ?? 'no direct path'));
    if (this.pending.size >= MAX_PENDING_OPENS) return Promise.reject(new Error('too many direct streams opening at once'));
    const id = this.ids.take();
    const raw = this.udx.createStream(id);
    raw.once('close', () => this.ids.release(id));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        raw.destroy();
        reject(new Error('the peer did not accept the direct stream in time'));
        // the control stream does not answer: the path is useless though its keep-alives may go on,
        // so close it (new connections take the relay and the route punches again) rather than have
        // every connection wait this long and the status keep saying direct
        this.close(`the peer did not accept a direct stream within ${HANDSHAKE_TIMEOUT_MS / 1000} s`);
      }, HANDSHAKE_TIMEOUT_MS);
      this.pending.set(id, { raw, resolve, reject, timer });
      this.control!.write(controlMessage(OPEN, id, 0));
    });
  }

  close(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    // streams in flight are reset: their users see ECONNRESET, as on the relay
    for (const s of this.open) s.destroy(Object.assign(new Error(reason), { code: 'ECONNRESET' }));
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.raw.destroy();
      p.reject(new Error(reason));
    }
    this.pending.clear();
    this.control?.destroy();
    void this.path.close();
    this.emit('close', reason);
  }

  private onControl(msg: Buffer): void {
    if (this.closed || msg.length !== 9) return;
    const type = msg[0];
    const offererId = msg.readUInt32BE(1);
    const answererId = msg.readUInt32BE(5);
    if (type === OPEN && this.path.role === 'answerer') this.accept(offererId);
    else if (type === ACCEPT && this.path.role === 'offerer') {
      const p = this.pending.get(offererId);
      if (!p) return;
      this.pending.delete(offererId);
      clearTimeout(p.timer);
      p.raw.connect(this.path.socket, answererId, this.path.remote.port, this.path.remote.ip);
      p.resolve(this.wrap(this.noise(p.raw)));
    }
  }

  /** Answerer: an end for the offerer's stream, handed out once its handshake completes. */
  private accept(offererId: number): void {
    if (this.open.size + this.pending.size >= 4096) return; // bounded: the offerer holds the secret, but still
    const id = this.ids.take();
    const raw = this.udx.createStream(id);
    raw.once('close', () => this.ids.release(id));
    raw.connect(this.path.socket, offererId, this.path.remote.port, this.path.remote.ip);
    const noise = this.noise(raw);
    const d = this.wrap(noise, (ok) => {
      if (ok) this.emit('stream', d);
    });
    this.control!.write(controlMessage(ACCEPT, offererId, id));
  }

  private noise(raw: UdxStream): NoiseSecretStream {
    const initiator = this.path.role === 'offerer';
    return new NoiseSecretStream(initiator, raw, initiator ? { pattern: 'IK', keyPair: this.own, remotePublicKey: this.peerKey } : { pattern: 'IK', keyPair: this.own });
  }

  /** The responder learns the initiator's static key from the handshake: it must be the offerer's of this session. */
  private checkPeer(s: NoiseSecretStream): boolean {
    return !!s.remotePublicKey && Buffer.from(s.remotePublicKey).equals(this.peerKey);
  }

  private wrap(s: NoiseSecretStream, onOpened?: (ok: boolean) => void): Duplex {
    const d = nodeDuplexOf(s as unknown as StreamxDuplex, { onIn: (n) => (this.counters.bytesIn += n), onOut: (n) => (this.counters.bytesOut += n) });
    this.counters.streams++;
    this.open.add(d);
    d.once('close', () => this.open.delete(d));
    // a reset or failed handshake must not crash the process when no user of the stream listens yet
    d.on('error', () => {});
    void withTimeout(s.opened, HANDSHAKE_TIMEOUT_MS).then((opened) => {
      const ok = opened && this.checkPeer(s);
      if (!ok) {
        this.counters.refusedStreams++;
        d.destroy(Object.assign(new Error('direct stream handshake failed'), { code: 'ECONNRESET' }));
      }
      onOpened?.(ok);
    });
    return d;
  }
}

function controlMessage(type: number, offererId: number, answererId: number): Buffer {
  const b = Buffer.alloc(9);
  b[0] = type;
  b.writeUInt32BE(offererId, 1);
  b.writeUInt32BE(answererId, 5);
  return b;
}

function withTimeout(p: Promise<boolean>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      () => {
        clearTimeout(t);
        resolve(false);
      },
    );
  });
}
