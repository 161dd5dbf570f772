/**
 * The client's multiplexed connection to the server: one TLS (or TCP) connection, authenticated
 * like a work connection (NewMuxConn over the server's fresh nonce), then yamux. The server opens
 * one stream per user connection and each is served like a work connection, so a new user
 * connection costs no TCP or TLS handshake. If the connection drops while the session lives it is
 * opened again after a backoff; meanwhile the server falls back to asking for work connections.
 */
import { workConnProof } from '../io/auth-proof.js';
import { FramedConnection } from '../io/framed-connection.js';
import { MuxSession, RELAY_MUX_MAX_STREAMS, RELAY_MUX_WINDOW, type MuxStream } from '../io/mux/session.js';
import { Backoff } from './backoff.js';
import { serveWorkConnection, type WorkConnDeps } from './work-connection.js';

export class MuxConnection {
  private mux: MuxSession | undefined;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly backoff = new Backoff({ initialMs: 500, maxMs: 30_000 });

  constructor(
    private readonly sessionId: string,
    private readonly deps: WorkConnDeps,
  ) {}

  /** Streams open now; undefined while there is no multiplexed connection. */
  get streamCount(): number | undefined {
    return this.mux?.streamCount;
  }

  start(): void {
    void this.open();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.mux?.close();
    this.mux = undefined;
  }

  private get wanted(): boolean {
    return !this.closed && this.deps.current(this.sessionId);
  }

  private async open(): Promise<void> {
    let opened;
    try {
      opened = await this.deps.dialer.open();
    } catch (err) {
      if (this.wanted) this.deps.logger.warn({ err: (err as Error).message }, 'cannot open the multiplexed connection');
      this.retryLater();
      return;
    }
    const { conn, challenge } = opened;
    if (!this.wanted) {
      conn.destroy();
      return;
    }
    conn.send({ type: 'NewMuxConn', sessionId: this.sessionId, proof: workConnProof(this.deps.token(), challenge.nonce, this.sessionId) });
    // The server answers nothing: yamux frames follow at once (a refusal is an Error frame, which
    // the mux decoder rejects as a protocol error, closing this connection).
    const mux = new MuxSession(conn.release(), { client: true, maxStreams: RELAY_MUX_MAX_STREAMS, initialWindow: RELAY_MUX_WINDOW });
    this.mux = mux;
    mux.on('stream', (stream: MuxStream) => {
      this.backoff.reset();
      const work = new FramedConnection(stream);
      this.deps.track(work);
      serveWorkConnection(work, this.deps).catch((err: Error) => this.deps.logger.warn({ err: err.message }, 'stream failed'));
    });
    mux.on('error', (err: Error) => {
      if (this.wanted) this.deps.logger.warn({ err: err.message }, 'multiplexed connection failed');
    });
    mux.on('close', () => {
      if (this.mux === mux) this.mux = undefined;
      this.retryLater();
    });
    this.deps.logger.debug('multiplexed connection open');
  }

  private retryLater(): void {
    if (!this.wanted) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.open(), this.backoff.next());
    this.retryTimer.unref();
  }
}
