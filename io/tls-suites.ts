/**
 * The cipher suites of the control channel, in the order Burrow prefers them, for both ends
 * (node:tls `ciphers`, which takes the TLS 1.3 suites and the TLS 1.2 cipher list in one string).
 *
 * TLS 1.3: AES-128-GCM first (the server's order decides; the client asks in the same order for
 * servers that follow the client's). RFC 8446 §9.1 makes TLS_AES_128_GCM_SHA256 the one suite every
 * TLS 1.3 implementation MUST have, and with AES-NI it costs about 4/5 of AES-256-GCM's cycles per
 * byte (`openssl speed -evp` on the bench machine, 16 KiB: 5.7 vs 4.6 GB/s, i.e. 0.04 ns less per
 * byte at each end). That is ~3 % of what a relayed byte costs the server (1.57 ns in the (c)
 * iperf3 run), below the run-to-run noise: A/B, 3 runs each, 1.57 vs 1.57 ns/B server, 508–544 vs
 * 498–530 MB/s — a sound default, not a measured speed-up. Go's crypto/tls orders them the same
 * way on CPUs with AES instructions. AES-256-GCM and ChaCha20-Poly1305 stay offered, so a peer
 * that insists on them still connects. TLS 1.2 keeps node's default list (which already puts
 * AES-128-GCM first).
 */
import { DEFAULT_CIPHERS } from 'node:tls';

const TLS13_ORDER = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];

export const TLS_CIPHERS = [...TLS13_ORDER, ...DEFAULT_CIPHERS.split(':').filter((c) => !c.startsWith('TLS_'))].join(':');
