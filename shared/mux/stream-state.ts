/**
 * Per-stream yamux state: flow-control windows and the open/half-close/reset transitions.
 * Pure and time-free: it only counts bytes and flags; the session owns sockets and timers.
 *
 * Windows (spec: "Flow Control"):
 * - send window: bytes we may still send. Starts at 256 KiB (what the peer's receive window is
 *   assumed to be), grows with each WindowUpdate the peer sends, shrinks by every Data byte we send.
 * - receive window: bytes the peer may still send us. Starts at 256 KiB; a Data frame longer than
 *   what is left is a protocol violation.
 * - buffered: bytes received but not yet consumed by the reader.
 * - credit: what we could grant back = maxWindow - buffered - receiveWindow. It is announced (as a
 *   WindowUpdate delta) only once it reaches half of maxWindow, as hashicorp/yamux does, unless a
 *   frame has to go out anyway (the SYN/ACK that opens the stream).
 *
 * Life cycle: the opener sends SYN with its first frame, the acceptor answers ACK with its first
 * frame (or RST to refuse). FIN half-closes one direction; the stream is closed once both sides have
 * sent FIN, or at once by RST from either side.
 */
import { MUX_INITIAL_WINDOW, MUX_MAX_U32, MuxError, MuxFlag } from './frame.js';

export type StreamInitiator = 'local' | 'remote';

export interface MuxStreamStateOptions {
  /** Our receive window (>= 256 KiB, <= u32 max). Default 256 KiB. */
  readonly maxWindow?: number;
}

/** What the flags of one received frame changed. */
export interface FlagOutcome {
  /** ACK for a stream we opened (first time only). */
  readonly acknowledged: boolean;
  /** FIN: the peer will send nothing more (first time only). End the readable side. */
  readonly remoteFinished: boolean;
  /** RST: the peer tore the stream down (first time only). */
  readonly reset: boolean;
  /** This frame completed the stream's life (both FINs, or RST): forget it. */
  readonly closed: boolean;
}

export class MuxStreamState {
  readonly maxWindow: number;
  private sendWindowBytes = MUX_INITIAL_WINDOW;
  private receiveWindowBytes = MUX_INITIAL_WINDOW;
  private bufferedBytes = 0;
  /** SYN (we opened) or ACK (we accepted) still to be put on our next outgoing frame. */
  private openFlag: number;
  private acked: boolean;
  private localFin = false;
  private remoteFin = false;
  private resetBy: StreamInitiator | undefined;

  constructor(
    readonly id: number,
    readonly initiator: StreamInitiator,
    options: MuxStreamStateOptions = {},
  ) {
    const max = options.maxWindow ?? MUX_INITIAL_WINDOW;
    if (!Number.isInteger(max) || max < MUX_INITIAL_WINDOW || max > MUX_MAX_U32) {
      throw new RangeError(`stream window must be an integer in [${MUX_INITIAL_WINDOW}, ${MUX_MAX_U32}], got ${max}`);
    }
    this.maxWindow = max;
    this.openFlag = initiator === 'local' ? MuxFlag.SYN : MuxFlag.ACK;
    this.acked = initiator === 'remote';
  }

  // ---- outgoing ------------------------------------------------------------------------------

  /** SYN or ACK the first time (they ride on whichever frame goes out first), 0 afterwards. */
  takeOpenFlags(): number {
    const f = this.openFlag;
    this.openFlag = 0;
    return f;
  }

  /** True until the SYN/ACK has been taken. */
  get openPending(): boolean {
    return this.openFlag !== 0;
  }

  /**
   * Reserve up to `wanted` bytes of the send window for one Data frame; returns how many may go (0:
   * wait for a WindowUpdate). Nothing may be sent after our FIN or a reset.
   */
  reserveSend(wanted: number): number {
    if (this.localFin || this.resetBy) return 0;
    const n = Math.max(0, Math.min(wanted, this.sendWindowBytes));
    this.sendWindowBytes -= n;
    return n;
  }

  /**
   * The WindowUpdate delta to send now (and counts it as granted), or 0. `force` announces any
   * positive credit (used when a frame goes out anyway); otherwise only credit >= maxWindow / 2.
   * Never grants after the peer's FIN or a reset: nothing more will come.
   */
  takeCredit(force = false): number {
    if (this.remoteFin || this.resetBy) return 0;
    const credit = this.maxWindow - this.bufferedBytes - this.receiveWindowBytes;
    if (credit <= 0) return 0;
    if (!force && credit < this.maxWindow / 2) return 0;
    this.receiveWindowBytes += credit;
    return credit;
  }

  /**
   * Local half-close: the flags of the FIN frame (FIN plus a pending SYN/ACK), or undefined if FIN
   * was already sent or the stream is reset.
   */
  finish(): number | undefined {
    if (this.localFin || this.resetBy) return undefined;
    this.localFin = true;
    return MuxFlag.FIN | this.takeOpenFlags();
  }

  /**
   * Local reset: the flags of the RST frame to send, or undefined when there is nothing to tell the
   * peer (already closed or reset).
   */
  reset(): number | undefined {
    if (this.closed) return undefined;
    this.resetBy = 'local';
    return MuxFlag.RST | this.takeOpenFlags();
  }

  // ---- incoming ------------------------------------------------------------------------------

  /**
   * A Data frame of `length` bytes arrived (before its flags are applied, so Data+FIN is fine).
   * Throws MuxError('protocol') if it exceeds the receive window or follows the peer's FIN.
   * Returns false if the bytes should be dropped (the stream was reset locally: they were in flight).
   */
  receiveData(length: number): boolean {
    if (this.resetBy) return false;
    if (this.remoteFin) {
      if (length === 0) return false;
      throw new MuxError('protocol', `stream ${this.id}: ${length} bytes of Data after FIN`);
    }
    if (length > this.receiveWindowBytes) {
      throw new MuxError('protocol', `stream ${this.id}: ${length} bytes exceed the receive window of ${this.receiveWindowBytes}`);
    }
    this.receiveWindowBytes -= length;
    this.bufferedBytes += length;
    return true;
  }

  /** The reader took `n` buffered bytes. */
  consumed(n: number): void {
    this.bufferedBytes = Math.max(0, this.bufferedBytes - n);
  }

  /** A WindowUpdate's delta. Throws MuxError('protocol') if the window would pass u32 max. */
  windowUpdate(delta: number): void {
    if (this.resetBy) return;
    const next = this.sendWindowBytes + delta;
    if (next > MUX_MAX_U32) throw new MuxError('protocol', `stream ${this.id}: send window overflow (${next})`);
    this.sendWindowBytes = next;
  }

  /** Apply the ACK/FIN/RST bits of a received Data or WindowUpdate frame (SYN is the session's business). */
  receiveFlags(flags: number): FlagOutcome {
    const wasClosed = this.closed;
    let acknowledged = false;
    let remoteFinished = false;
    let reset = false;
    if (!wasClosed) {
      if (flags & MuxFlag.ACK && !this.acked) {
        this.acked = true;
        acknowledged = true;
      }
      if (flags & MuxFlag.RST) {
        this.resetBy = 'remote';
        reset = true;
      } else if (flags & MuxFlag.FIN && !this.remoteFin) {
        this.remoteFin = true;
        remoteFinished = true;
      }
    }
    return { acknowledged, remoteFinished, reset, closed: !wasClosed && this.closed };
  }

  // ---- views ---------------------------------------------------------------------------------

  get sendWindow(): number {
    return this.sendWindowBytes;
  }
  get receiveWindow(): number {
    return this.receiveWindowBytes;
  }
  get buffered(): number {
    return this.bufferedBytes;
  }
  get acknowledged(): boolean {
    return this.acked;
  }
  get localFinished(): boolean {
    return this.localFin;
  }
  get remoteFinished(): boolean {
    return this.remoteFin;
  }
  /** Who reset the stream, if anyone. */
  get resetSide(): StreamInitiator | undefined {
    return this.resetBy;
  }
  /** Both directions finished, or reset. */
  get closed(): boolean {
    return this.resetBy !== undefined || (this.localFin && this.remoteFin);
  }
}
