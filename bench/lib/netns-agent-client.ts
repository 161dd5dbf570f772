/** The benchmark's side of netns-agent.ts: start one in a lab namespace and ask it things. */
import path from 'node:path';
import { createInterface } from 'node:readline';
import { distBench } from './root.js';
import { killTree, spawnTracked, type Tracked } from './proc.js';

export class NetnsAgent {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }>();

  private constructor(
    readonly ns: string,
    private readonly proc: Tracked,
  ) {
    createInterface({ input: proc.child.stdout! }).on('line', (line) => {
      let msg: { id?: number; ok?: boolean; error?: string };
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        return;
      }
      const w = this.waiting.get(msg.id ?? -1);
      if (!w) return;
      this.waiting.delete(msg.id!);
      if (msg.ok) w.resolve(msg as Record<string, unknown>);
      else w.reject(new Error(`agent in ${ns}: ${msg.error ?? 'failed'}`));
    });
    void proc.exited.then(() => {
      for (const w of this.waiting.values()) w.reject(new Error(`agent in ${ns} exited: ${proc.output().slice(-500)}`));
      this.waiting.clear();
    });
  }

  static async start(ns: string): Promise<NetnsAgent> {
    const script = path.join(distBench, 'lib', 'netns-agent.js');
    const proc = spawnTracked(`agent ${ns}`, 'ip', ['netns', 'exec', ns, process.execPath, script]);
    const agent = new NetnsAgent(ns, proc);
    await agent.call('ping', {}, 10_000);
    return agent;
  }

  get pid(): number {
    return this.proc.pid;
  }

  call(op: string, args: Record<string, unknown>, timeoutMs = 15_000): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`agent in ${this.ns}: no answer to ${op} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.proc.child.stdin!.write(`${JSON.stringify({ id, op, ...args })}\n`);
    });
  }

  async stop(): Promise<void> {
    this.proc.child.stdin?.end();
    await killTree(this.proc, 1000);
  }
}
