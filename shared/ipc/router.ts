/**
 * The host side of the contract: one router for every transport (WebSocket now, Electron IPC
 * later). A transport hands each incoming message to `receive()` and gets the replies and events
 * back through its `send`. Only channels the contract declares are handled; a message or payload
 * that fails its schema gets an error response and a log line, never an exception.
 */
import type { z } from 'zod';
import {
  contract,
  RequestMessageSchema,
  type ChannelName,
  type ErrorCode,
  type EventName,
  type EventOf,
  type HostMessage,
  type ParsedRequestOf,
  type ResponseMessage,
  type ResponseOf,
} from './contract.js';

export type Handlers = { [C in ChannelName]: (request: ParsedRequestOf<C>) => ResponseOf<C> | Promise<ResponseOf<C>> };

export interface RouterLog {
  warn(fields: Record<string, unknown>, message: string): void;
}

/** One connected renderer, as the transport sees it. */
export interface RouterPort {
  send(message: HostMessage): void;
}

export interface Connection {
  /** Handle one incoming message (already decoded from the transport's framing). */
  receive(raw: unknown): Promise<void>;
  close(): void;
}

export class Router {
  private readonly ports = new Set<RouterPort>();

  constructor(
    private readonly handlers: Handlers,
    private readonly log: RouterLog,
  ) {}

  connect(port: RouterPort): Connection {
    this.ports.add(port);
    return {
      receive: async (raw) => {
        const reply = await this.handle(raw);
        if (this.ports.has(port)) port.send(reply);
      },
      close: () => {
        this.ports.delete(port);
      },
    };
  }

  /** Push an event to every connected renderer. A payload that fails its schema is logged and dropped. */
  publish<E extends EventName>(stream: E, payload: EventOf<E>): void {
    const schema: z.ZodType = contract.events[stream];
    const parsed = schema.safeParse(payload);
    if (!parsed.success) {
      this.log.warn({ stream, reason: describeIssues(parsed.error.issues) }, 'event does not match the contract; not sent');
      return;
    }
    const message: HostMessage = { kind: 'event', stream, payload: parsed.data };
    for (const port of this.ports) port.send(message);
  }

  get connections(): number {
    return this.ports.size;
  }

  /** Turns one raw message into its response; never throws. */
  async handle(raw: unknown): Promise<ResponseMessage> {
    const envelope = RequestMessageSchema.safeParse(raw);
    if (!envelope.success) {
      const id = typeof raw === 'object' && raw !== null && typeof (raw as { id?: unknown }).id === 'number' ? (raw as { id: number }).id : null;
      return this.refuse(id, 'bad-message', `not a request message: ${describeIssues(envelope.error.issues)}`);
    }
    const { id, channel, payload } = envelope.data;
    if (!Object.hasOwn(contract.channels, channel)) {
      return this.refuse(id, 'unknown-channel', `unknown channel "${channel}"`);
    }
    const name = channel as ChannelName;
    const spec = contract.channels[name];
    const request = (spec.request as z.ZodType).safeParse(payload ?? {});
    if (!request.success) {
      return this.refuse(id, 'bad-request', `${channel}: ${describeIssues(request.error.issues)}`, channel);
    }
    let result: unknown;
    try {
      const handler = this.handlers[name] as (request: unknown) => unknown;
      result = await handler(request.data);
    } catch (err) {
      return this.refuse(id, 'failed', err instanceof Error ? err.message : String(err), channel);
    }
    const response = (spec.response as z.ZodType).safeParse(result);
    if (!response.success) {
      return this.refuse(id, 'failed', `${channel}: the host's answer does not match the contract (${describeIssues(response.error.issues)})`, channel);
    }
    return { kind: 'response', id, ok: true, result: response.data };
  }

  private refuse(id: number | null, code: ErrorCode, message: string, channel?: string): ResponseMessage {
    this.log.warn({ ...(channel !== undefined ? { channel } : {}), code, reason: message }, 'console request refused');
    return { kind: 'response', id, ok: false, error: { code, message } };
  }
}

/** "tunnel.remotePort: Too big: expected number to be <=65535; name: Required" */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((i) => {
      const path = i.path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`)).join('').replace(/^\./, '');
      return path ? `${path}: ${i.message}` : i.message;
    })
    .join('; ');
}
