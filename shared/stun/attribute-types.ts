/**
 * The shapes of decoded STUN attributes (RFC 8489; TURN attributes RFC 8656; RFC 5780; RFC 6062).
 * Types only, in their own file so that the attribute codec (attributes.ts) and the message codec
 * (message.ts, which re-exports them) both take them from here instead of from each other.
 */

export interface TransportAddress {
  family: 'IPv4' | 'IPv6';
  /** Canonical text form ("192.0.2.1", "2001:db8::1"; IPv4-mapped IPv6 as "::ffff:192.0.2.1"). */
  address: string;
  port: number;
}

export type StunAttribute =
  | {
      type: 'MAPPED-ADDRESS' | 'XOR-MAPPED-ADDRESS' | 'XOR-PEER-ADDRESS' | 'XOR-RELAYED-ADDRESS' | 'ALTERNATE-SERVER' | 'RESPONSE-ORIGIN' | 'OTHER-ADDRESS';
      address: TransportAddress;
    }
  | { type: 'USERNAME' | 'REALM' | 'NONCE' | 'SOFTWARE' | 'ALTERNATE-DOMAIN'; value: string }
  | { type: 'USERHASH'; hash: Uint8Array }
  | { type: 'ERROR-CODE'; code: number; reason: string }
  | { type: 'UNKNOWN-ATTRIBUTES'; types: number[] }
  | { type: 'CHANNEL-NUMBER'; channel: number }
  | { type: 'LIFETIME'; seconds: number }
  | { type: 'DATA'; data: Uint8Array }
  | { type: 'REQUESTED-ADDRESS-FAMILY' | 'ADDITIONAL-ADDRESS-FAMILY'; family: 'IPv4' | 'IPv6' }
  | { type: 'ADDRESS-ERROR-CODE'; family: 'IPv4' | 'IPv6'; code: number; reason: string }
  | { type: 'EVEN-PORT'; reserveNext: boolean }
  | { type: 'REQUESTED-TRANSPORT'; protocol: number }
  | { type: 'DONT-FRAGMENT' }
  | { type: 'RESERVATION-TOKEN'; token: Uint8Array } // 8 bytes
  | { type: 'PASSWORD-ALGORITHM'; algorithm: number; params: Uint8Array }
  | { type: 'PASSWORD-ALGORITHMS'; algorithms: Array<{ algorithm: number; params: Uint8Array }> }
  | { type: 'ICMP'; icmpType: number; icmpCode: number; errorData: number }
  | { type: 'CONNECTION-ID'; id: number }
  | { type: 'CHANGE-REQUEST'; changeIp: boolean; changePort: boolean }
  | { type: 'RESPONSE-PORT'; port: number }
  | { type: 'PADDING'; length: number }
  | { type: 'MESSAGE-INTEGRITY'; hmac: Uint8Array } // produced by decode; encode computes it from options
  | { type: 'MESSAGE-INTEGRITY-SHA256'; hmac: Uint8Array }
  | { type: 'FINGERPRINT'; crc: number }
  | { type: 'UNKNOWN'; code: number; value: Uint8Array };
