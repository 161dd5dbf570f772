/** The kernel's UDP counters of a network namespace (/proc/net/snmp "Udp:" lines), e.g. receive-buffer drops. */

export interface UdpCounters {
  inDatagrams: number;
  /** Datagrams dropped because the socket's receive buffer was full. */
  rcvbufErrors: number;
  sndbufErrors: number;
}

/** Parse the "Udp:" header and value lines of /proc/net/snmp. */
export function parseUdpSnmp(text: string): UdpCounters {
  const lines = text.split('\n').filter((l) => l.startsWith('Udp:'));
  const head = lines[0]?.split(/\s+/).slice(1) ?? [];
  const vals = lines[1]?.split(/\s+/).slice(1).map(Number) ?? [];
  const get = (name: string): number => {
    const i = head.indexOf(name);
    return i >= 0 && Number.isFinite(vals[i]) ? vals[i]! : 0;
  };
  return { inDatagrams: get('InDatagrams'), rcvbufErrors: get('RcvbufErrors'), sndbufErrors: get('SndbufErrors') };
}
