/**
 * I/O adapter: io/datagram-socket.ts's DatagramSocket over native/udp-batch, a Node-API addon that
 * `npm run build` compiles (build/native.mjs). It reads up to 64 datagrams per recvmmsg(2) and
 * hands them over in one call; each send is one sendto(2) from the caller's bytes, with no request
 * object and no lookup. Where the addon was not built, `loadBatchDatagramSockets()` is undefined and
 * the server uses node:dgram.
 *
 * A received datagram is a view into its batch's Buffer (one copy out of the receive area per
 * batch), so a datagram kept keeps its batch: at most 64 datagrams' bytes.
 */
import { lookup } from 'node:dns/promises';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import type { DatagramBindOptions, DatagramHandler, DatagramSocket, DatagramSocketFactory } from './datagram-socket.js';
import { findNativeAddon, nativeAddonPath } from './native-addon.js';

export const UDP_BATCH_ADDON = nativeAddonPath('udp-batch', 'udp_batch');

/** The addon's functions (native/udp-batch/udp_batch.c says what each does). */
export interface UdpBatchAddon {
  readonly BATCH: number;
  open(family: 4 | 6, address: string, port: number, recvBufferSize: number, reuseAddr: boolean, ipv6Only: boolean): [unknown, number, string];
  start(handle: unknown, meta: Uint32Array, onBatch: (data: Buffer, count: number, v6names: string[] | undefined) => void): void;
  send(handle: unknown, data: Uint8Array, port: number, address: string): number;
  close(handle: unknown): void;
}

/** Datagram sources' IPv4 addresses, as strings, by their 32-bit value (bounded; emptied when full). */
const IPV4_NAMES_MAX = 4096;
const ipv4Names = new Map<number, string>();
const mappedNames = new Map<number, string>();

function ipv4Name(value: number, mapped: boolean): string {
  const names = mapped ? mappedNames : ipv4Names;
  let name = names.get(value);
  if (name === undefined) {
    name = `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
    // node:dgram spells a v4-mapped source on a dual-stack socket this way too.
    if (mapped) name = `::ffff:${name}`;
    if (names.size >= IPV4_NAMES_MAX) names.clear();
    names.set(value, name);
  }
  return name;
}

class BatchSocket implements DatagramSocket {
  private handler: DatagramHandler | undefined;
  private closed = false;
  private readonly meta: Uint32Array;

  constructor(
    private readonly addon: UdpBatchAddon,
    private readonly handle: unknown,
    readonly address: string,
    readonly port: number,
  ) {
    this.meta = new Uint32Array(addon.BATCH * 4);
    addon.start(handle, this.meta, this.onBatch);
  }

  private readonly onBatch = (data: Buffer, count: number, v6names: string[] | undefined): void => {
    const meta = this.meta;
    for (let i = 0; i < count; i++) {
      // Undefined before onMessage() and after close() (a handler may close the socket mid-batch).
      const handler = this.handler;
      if (!handler) return;
      const at = i * 4;
      const offset = meta[at]!;
      const portKind = meta[at + 2]!;
      const kind = portKind >>> 16;
      const address = kind === 2 ? v6names![i]! : ipv4Name(meta[at + 3]!, kind === 1);
      // One datagram's handler failing must not cost the rest of the batch (node:dgram would have
      // delivered them as separate events); the error still surfaces as an uncaught exception.
      try {
        handler(data.subarray(offset, offset + meta[at + 1]!), address, portKind & 0xffff);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  };

  send(data: Uint8Array, port: number, address: string): void {
    if (this.closed) return;
    try {
      this.addon.send(this.handle, data, port, address);
    } catch {
      // a port out of range or a non-string address: lost, as node:dgram's send would throw
    }
  }

  onMessage(handler: DatagramHandler): void {
    this.handler = handler;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.handler = undefined;
    this.addon.close(this.handle);
  }
}

/** A DatagramSocketFactory over the addon. */
export function batchDatagramSockets(addon: UdpBatchAddon): DatagramSocketFactory {
  return {
    kind: 'batch',
    async bind(options: DatagramBindOptions): Promise<DatagramSocket> {
      const family = options.type === 'udp6' ? 6 : 4;
      // A listen address may be a host name ("localhost"), as node:dgram resolves it.
      const ip = isIP(options.address) !== 0 ? options.address : (await lookup(options.address, { family })).address;
      const [handle, port, address] = addon.open(family, ip, options.port, options.recvBufferSize ?? 0, options.reuseAddr ?? false, options.ipv6Only ?? false);
      return new BatchSocket(addon, handle, address, port);
    },
  };
}

/** The addon, or undefined where it was not built or does not load. */
export function loadUdpBatchAddon(addonPath = findNativeAddon(UDP_BATCH_ADDON)): UdpBatchAddon | undefined {
  if (addonPath === undefined) return undefined;
  try {
    const addon = createRequire(import.meta.url)(addonPath) as Partial<UdpBatchAddon>;
    if (typeof addon.open !== 'function' || typeof addon.start !== 'function' || typeof addon.send !== 'function' || typeof addon.close !== 'function') return undefined;
    if (typeof addon.BATCH !== 'number' || addon.BATCH < 1) return undefined;
    return addon as UdpBatchAddon;
  } catch {
    return undefined;
  }
}

export function loadBatchDatagramSockets(addonPath?: string): DatagramSocketFactory | undefined {
  const addon = loadUdpBatchAddon(addonPath);
  return addon ? batchDatagramSockets(addon) : undefined;
}
