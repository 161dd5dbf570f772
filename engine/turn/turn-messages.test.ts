import { describe, expect, it } from 'vitest';
import { StunClass, StunMethod } from '../../shared/stun/constants.js';
import { decodeStun, encodeStun, getAttribute, getAttributes } from '../../shared/stun/message.js';
import {
  allocateRequest,
  channelBindRequest,
  connectionBindRequest,
  connectRequest,
  createPermissionRequest,
  parseAllocateSuccess,
  parseConnectionAttempt,
  parseDataIndication,
  refreshRequest,
  sendIndication,
  TurnProtocolError,
} from './turn-messages.js';

const TXID = new Uint8Array(12).fill(9);
const PEER = { family: 'IPv4' as const, address: '192.0.2.15', port: 4000 };
const roundTrip = (m: Parameters<typeof encodeStun>[0]) => decodeStun(encodeStun(m));

describe('TURN request building', () => {
  it('Allocate: REQUESTED-TRANSPORT UDP by default, TCP for RFC 6062, optional LIFETIME', () => {
    const udp = roundTrip(allocateRequest(TXID));
    expect(udp.method).toBe(StunMethod.Allocate);
    expect(udp.cls).toBe(StunClass.Request);
    expect(getAttribute(udp, 'REQUESTED-TRANSPORT')?.protocol).toBe(17);
    expect(getAttribute(udp, 'LIFETIME')).toBeUndefined();
    const tcp = roundTrip(allocateRequest(TXID, { transport: 'tcp', lifetime: 300, dontFragment: true, software: 'burrow' }));
    expect(getAttribute(tcp, 'REQUESTED-TRANSPORT')?.protocol).toBe(6);
    expect(getAttribute(tcp, 'LIFETIME')?.seconds).toBe(300);
    expect(getAttribute(tcp, 'DONT-FRAGMENT')).toBeUndefined(); // UDP relays only
    expect(getAttribute(tcp, 'SOFTWARE')?.value).toBe('burrow');
  });

  it('Refresh carries LIFETIME (0 deletes)', () => {
    expect(getAttribute(roundTrip(refreshRequest(TXID, 0)), 'LIFETIME')?.seconds).toBe(0);
    expect(getAttribute(roundTrip(refreshRequest(TXID)), 'LIFETIME')).toBeUndefined();
    expect(roundTrip(refreshRequest(TXID, 600)).method).toBe(StunMethod.Refresh);
  });

  it('CreatePermission: one XOR-PEER-ADDRESS per IP', () => {
    const m = roundTrip(createPermissionRequest(TXID, ['192.0.2.1', '2001:db8::1']));
    expect(m.method).toBe(StunMethod.CreatePermission);
    expect(getAttributes(m, 'XOR-PEER-ADDRESS').map((a) => a.address)).toEqual([
      { family: 'IPv4', address: '192.0.2.1', port: 0 },
      { family: 'IPv6', address: '2001:db8::1', port: 0 },
    ]);
    expect(() => createPermissionRequest(TXID, [])).toThrow(RangeError);
  });

  it('ChannelBind: CHANNEL-NUMBER and XOR-PEER-ADDRESS, channel in 0x4000-0x4FFF', () => {
    const m = roundTrip(channelBindRequest(TXID, 0x4001, PEER));
    expect(m.method).toBe(StunMethod.ChannelBind);
    expect(getAttribute(m, 'CHANNEL-NUMBER')?.channel).toBe(0x4001);
    expect(getAttribute(m, 'XOR-PEER-ADDRESS')?.address).toEqual(PEER);
    expect(() => channelBindRequest(TXID, 0x3fff, PEER)).toThrow(RangeError);
    expect(() => channelBindRequest(TXID, 0x5000, PEER)).toThrow(RangeError);
  });

  it('Send indication: XOR-PEER-ADDRESS and DATA, no integrity', () => {
    const m = decodeStun(sendIndication(TXID, PEER, new Uint8Array([1, 2, 3])));
    expect(m.method).toBe(StunMethod.Send);
    expect(m.cls).toBe(StunClass.Indication);
    expect(getAttribute(m, 'XOR-PEER-ADDRESS')?.address).toEqual(PEER);
    expect(Array.from(getAttribute(m, 'DATA')!.data)).toEqual([1, 2, 3]);
    expect(m.integrityOffset).toBeUndefined();
  });

  it('RFC 6062 Connect and ConnectionBind', () => {
    const c = roundTrip(connectRequest(TXID, PEER));
    expect(c.method).toBe(StunMethod.Connect);
    expect(getAttribute(c, 'XOR-PEER-ADDRESS')?.address).toEqual(PEER);
    const b = roundTrip(connectionBindRequest(TXID, 0x12345678));
    expect(b.method).toBe(StunMethod.ConnectionBind);
    expect(getAttribute(b, 'CONNECTION-ID')?.id).toBe(0x12345678);
  });
});

describe('TURN response parsing', () => {
  it('Allocate success', () => {
    const m = roundTrip({
      method: StunMethod.Allocate,
      cls: StunClass.SuccessResponse,
      transactionId: TXID,
      attributes: [
        { type: 'XOR-RELAYED-ADDRESS', address: { family: 'IPv4', address: '198.51.100.1', port: 50000 } },
        { type: 'XOR-MAPPED-ADDRESS', address: { family: 'IPv4', address: '203.0.113.1', port: 40000 } },
        { type: 'LIFETIME', seconds: 600 },
      ],
    });
    expect(parseAllocateSuccess(m)).toEqual({
      relayed: { family: 'IPv4', address: '198.51.100.1', port: 50000 },
      mapped: { family: 'IPv4', address: '203.0.113.1', port: 40000 },
      lifetime: 600,
    });
    expect(() => parseAllocateSuccess({ ...m, attributes: [] })).toThrow(TurnProtocolError);
  });

  it('Data indication and ConnectionAttempt', () => {
    const d = roundTrip({
      method: StunMethod.Data,
      cls: StunClass.Indication,
      transactionId: TXID,
      attributes: [
        { type: 'XOR-PEER-ADDRESS', address: PEER },
        { type: 'DATA', data: new Uint8Array([7]) },
      ],
    });
    expect(parseDataIndication(d)).toEqual({ peer: PEER, data: new Uint8Array([7]) });
    expect(parseConnectionAttempt(d)).toBeUndefined();
    const a = roundTrip({
      method: StunMethod.ConnectionAttempt,
      cls: StunClass.Indication,
      transactionId: TXID,
      attributes: [
        { type: 'CONNECTION-ID', id: 5 },
        { type: 'XOR-PEER-ADDRESS', address: PEER },
      ],
    });
    expect(parseConnectionAttempt(a)).toEqual({ connectionId: 5, peer: PEER });
    expect(parseDataIndication(a)).toBeUndefined();
  });
});
