/**
 * I/O adapter: the UDP socket the STUN listener and the TURN relay sockets use, as an interface
 * with two implementations. `dgramSockets` is node:dgram; io/udp-batch.ts's is native/udp-batch
 * (recvmmsg batches, direct sendto), cheaper per datagram and far quicker to drain a burst.
 * io/default-datagram-sockets.ts picks the addon where it was built, node:dgram otherwise.
 */
import dgram from 'node:dgram';
import { literalLookup } from './literal-lookup.js';

export interface DatagramBindOptions {
  type: 'udp4' | 'udp6';
  /** An IP literal (or, for node:dgram only, a host name). */
  address: string;
  /** 0: any free port. */
  port: number;
  /** udp6 only: no IPv4-mapped traffic (default false: dual stack, as node:dgram). */
  ipv6Only?: boolean;
  /** SO_REUSEADDR (default false). */
  reuseAddr?: boolean;
  /** SO_RCVBUF to ask for; the kernel caps it at net.core.rmem_max. Default: the system's. */
  recvBufferSize?: number;
}

/** Received datagrams: `data` and where it came from, spelled as node:dgram's RemoteInfo would. */
export type DatagramHandler = (data: Buffer, address: string, port: number) => void;

export interface DatagramSocket {
  /** The bound address and port. */
  readonly address: string;
  readonly port: number;
  /**
   * Sends one datagram to an IP literal. A failure (socket closed, send buffer full, address of
   * the wrong family) loses it, as UDP may; it never throws.
   */
  send(data: Uint8Array, port: number, address: string): void;
  /** One handler; datagrams that arrive before it is set are dropped. */
  onMessage(handler: DatagramHandler): void;
  /** Idempotent. No datagram is handed over after it. */
  close(): void;
}

export interface DatagramSocketFactory {
  /** 'dgram' or 'batch' (native/udp-batch): for logs and benchmarks. */
  readonly kind: string;
  /** Rejects with an Error whose `code` is the errno name (EADDRINUSE, EACCES, ...), as node:dgram's bind. */
  bind(options: DatagramBindOptions): Promise<DatagramSocket>;
}

class DgramSocket implements DatagramSocket {
  private handler: DatagramHandler | undefined;
  private closed = false;

  constructor(
    private readonly socket: dgram.Socket,
    readonly address: string,
    readonly port: number,
  ) {
    socket.on('message', (data, rinfo) => this.handler?.(data, rinfo.address, rinfo.port));
    // After bind, errors are failed sends (sent without a callback: a callback costs a tick per
    // datagram) and ICMP errors on some platforms; the socket outlives them.
    socket.on('error', () => {});
  }

  send(data: Uint8Array, port: number, address: string): void {
    if (this.closed) return;
    try {
      this.socket.send(data, port, address);
    } catch {
      // a bad address for this family: the datagram is lost like any other
    }
  }

  onMessage(handler: DatagramHandler): void {
    this.handler = handler;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.handler = undefined;
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }
}

/** node:dgram, with the literal lookup (io/literal-lookup.ts). */
export const dgramSockets: DatagramSocketFactory = {
  kind: 'dgram',
  bind(options) {
    const socket = dgram.createSocket({
      type: options.type,
      lookup: literalLookup,
      ...(options.type === 'udp6' ? { ipv6Only: options.ipv6Only ?? false } : {}),
      ...(options.reuseAddr ? { reuseAddr: true } : {}),
      ...(options.recvBufferSize ? { recvBufferSize: options.recvBufferSize } : {}),
    });
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => {
        try {
          socket.close();
        } catch {
          // not bound
        }
        reject(err);
      };
      socket.once('error', onError);
      socket.bind({ address: options.address, port: options.port, exclusive: true }, () => {
        socket.off('error', onError);
        const a = socket.address();
        resolve(new DgramSocket(socket, a.address, a.port));
      });
    });
  },
};
