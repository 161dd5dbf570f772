// The parts of udx-native and @hyperswarm/secret-stream that Burrow uses (they ship no types).

declare module 'udx-native' {
  import type { Duplex } from 'node:stream';
  import type { EventEmitter } from 'node:events';

  export interface UdxSocket extends EventEmitter {
    bind(port?: number, host?: string): void;
    address(): { host: string; family: number; port: number };
    send(buffer: Uint8Array, port: number, host: string, ttl?: number): Promise<boolean>;
    on(event: 'message', listener: (data: Buffer, from: { host: string; port: number; family: number }) => void): this;
    close(): Promise<void>;
  }

  export interface UdxStream extends Duplex {
    connect(socket: UdxSocket, remoteId: number, port: number, host: string): void;
    readonly rtt: number;
    /** One unreliable, unordered message to the other end of the stream (a single UDP packet). */
    trySend(buffer: Uint8Array): void;
  }

  export default class UDX {
    createSocket(): UdxSocket;
    createStream(id: number): UdxStream;
  }
}

declare module '@hyperswarm/secret-stream' {
  import type { Duplex } from 'node:stream';

  export interface KeyPair {
    publicKey: Buffer;
    secretKey: Buffer;
  }

  export default class NoiseSecretStream extends Duplex {
    constructor(isInitiator: boolean, rawStream: Duplex, options?: { pattern?: string; keyPair?: KeyPair; remotePublicKey?: Uint8Array });
    static keyPair(seed?: Uint8Array): KeyPair;
    readonly opened: Promise<boolean>;
    readonly publicKey: Buffer | null;
    readonly remotePublicKey: Buffer | null;
    /** An encrypted unordered message over the raw udx stream's trySend (after the handshake; dropped before). */
    trySend(buffer: Uint8Array): void;
    on(event: 'message', listener: (message: Buffer) => void): this;
    on(event: string | symbol, listener: (...args: any[]) => void): this;
  }
}
