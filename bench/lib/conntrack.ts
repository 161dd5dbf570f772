/**
 * Reading a lab router's UDP conntrack table (/proc/net/nf_conntrack), to say why a punch failed:
 * whether the NAT gave a host's flow to the peer a different public port than the one the STUN
 * server saw (masquerade does when a reply tuple would clash with an entry an earlier, unsolicited
 * packet of the peer created: the peer's filter then drops everything from the new port).
 */

export interface UdpFlow {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  /** The reply direction as the NAT rewrote it. */
  reply: { src: string; dst: string; sport: number; dport: number };
  unreplied: boolean;
}

/** The UDP entries of a /proc/net/nf_conntrack dump. */
export function parseUdpConntrack(text: string): UdpFlow[] {
  const out: UdpFlow[] = [];
  for (const line of text.split('\n')) {
    if (!/\budp\b/.test(line)) continue;
    const get = (key: string): string[] => [...line.matchAll(new RegExp(`\\b${key}=(\\S+)`, 'g'))].map((m) => m[1]!);
    const [src, rsrc] = get('src');
    const [dst, rdst] = get('dst');
    const [sport, rsport] = get('sport').map(Number);
    const [dport, rdport] = get('dport').map(Number);
    if (!src || !dst || !rsrc || !rdst || sport === undefined || dport === undefined || rsport === undefined || rdport === undefined) continue;
    out.push({ src, dst, sport, dport, reply: { src: rsrc, dst: rdst, sport: rsport, dport: rdport }, unreplied: line.includes('[UNREPLIED]') });
  }
  return out;
}

/** Flows from `hostIp` to `peerIp` whose public source port is not the host's port (the mapping was not kept). */
export function remappedFlows(flows: readonly UdpFlow[], hostIp: string, peerIp: string): Array<{ from: number; to: number; peerPort: number }> {
  return flows.filter((f) => f.src === hostIp && f.dst === peerIp && f.reply.dport !== f.sport).map((f) => ({ from: f.sport, to: f.reply.dport, peerPort: f.dport }));
}
