/** What every benchmarked path (direct, Burrow, ssh -R, socat) looks like to the runner. */

export type PathId = 'a' | 'b' | 'c' | 'd' | 'e' | 'f' | 'g';

export const PATH_IDS: readonly PathId[] = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];

/** A process whose memory is reported for a path. */
export interface MemProbe {
  label: string;
  pid: number;
  /** Sum over descendants too (forking relays such as sshd and socat). */
  includeChildren: boolean;
}

/** The services a path has to reach. */
export interface TargetPorts {
  iperf: number;
  echo: number;
}

export interface RunningPath {
  /** Port to point iperf3 at (forwards to the iperf3 server). */
  iperfPort: number;
  /** Port to point the echo load generators at. */
  echoPort: number;
  /** "Server" side: the public listener (Burrow server, sshd, socat). */
  server?: MemProbe;
  /** "Client" side: the process next to the service (Burrow client, ssh). */
  client?: MemProbe;
  /** Undefined while every process of the path runs; otherwise what died and its last output. */
  health(): string | undefined;
  /** Extra facts worth printing (cipher, versions…). */
  notes: string[];
  stop(): Promise<void>;
}

export interface PathSpec {
  id: PathId;
  label: string;
  start(targets: TargetPorts): Promise<RunningPath>;
}
