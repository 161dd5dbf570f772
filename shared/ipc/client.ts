/**
 * The renderer side of the contract: a typed client over any transport that can send a message and
 * deliver the host's messages back. `call('tunnels.add', {...})` is checked against the contract at
 * compile time and its answer against the response schema at run time.
 */
import type { z } from 'zod';
import { contract, type ChannelName, type EventName, type EventOf, type RequestMessage, type RequestOf, type ResponseOf } from './contract.js';

export interface ClientTransport {
  send(message: RequestMessage): void;
  /** Register the receiver of every message the host sends. */
  onMessage(receive: (message: unknown) => void): void;
}

/** A refused or failed call, with the host's error code ("bad-request", "unknown-channel", …). */
export class ChannelError extends Error {
  override readonly name = 'ChannelError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ContractClient {
  call<C extends ChannelName>(channel: C, request: RequestOf<C>): Promise<ResponseOf<C>>;
  on<E extends EventName>(stream: E, listener: (payload: EventOf<E>) => void): () => void;
  /** Reject every call still waiting (the transport went away). */
  fail(reason: string): void;
}

export function createClient(transport: ClientTransport): ContractClient {
  let nextId = 1;
  const pending = new Map<number, { channel: ChannelName; resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const listeners = new Map<string, Set<(payload: never) => void>>();

  transport.onMessage((raw) => {
    if (typeof raw !== 'object' || raw === null) return;
    const m = raw as { kind?: unknown; id?: unknown; ok?: unknown; result?: unknown; error?: { code?: unknown; message?: unknown }; stream?: unknown; payload?: unknown };
    if (m.kind === 'event' && typeof m.stream === 'string' && Object.hasOwn(contract.events, m.stream)) {
      const parsed = (contract.events[m.stream as EventName] as z.ZodType).safeParse(m.payload);
      if (!parsed.success) return;
      for (const l of listeners.get(m.stream) ?? []) l(parsed.data as never);
      return;
    }
    if (m.kind !== 'response' || typeof m.id !== 'number') return;
    const call = pending.get(m.id);
    if (!call) return;
    pending.delete(m.id);
    if (m.ok === true) {
      const parsed = (contract.channels[call.channel].response as z.ZodType).safeParse(m.result);
      if (parsed.success) call.resolve(parsed.data);
      else call.reject(new ChannelError('bad-response', `${call.channel}: answer does not match the contract`));
    } else {
      call.reject(new ChannelError(String(m.error?.code ?? 'failed'), String(m.error?.message ?? 'request failed')));
    }
  });

  return {
    call(channel, request) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { channel, resolve: resolve as (v: unknown) => void, reject });
        transport.send({ kind: 'request', id, channel, payload: request });
      });
    },
    on(stream, listener) {
      let set = listeners.get(stream);
      if (!set) listeners.set(stream, (set = new Set()));
      set.add(listener as (payload: never) => void);
      return () => set.delete(listener as (payload: never) => void);
    },
    fail(reason) {
      for (const [id, call] of pending) {
        pending.delete(id);
        call.reject(new ChannelError('disconnected', reason));
      }
    },
  };
}
