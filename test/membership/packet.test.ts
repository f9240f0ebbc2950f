import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { GossipPacketCodec, MemberStatus, RingStatus } from '../../src/codec/index.js';
import type { Member, MemberUpdate } from '../../src/codec/index.js';
import { PacketCodec } from '../../src/membership/packet.js';
import { Keyring } from '../../src/transport/index.js';

const member = (id: string, over: Partial<Member> = {}): Member => ({
  id,
  host: '127.0.0.1',
  port: 7000,
  dc: 'dc1',
  rack: 'r1',
  capacity: 1,
  incarnation: 3,
  status: MemberStatus.ALIVE,
  ringStatus: RingStatus.ACTIVE,
  httpPort: 0,
  protocol: 1,
  statusAt: 0,
  ...over,
});
const alive = (m: Member): MemberUpdate => ({ id: m.id, incarnation: m.incarnation, status: m.status, from: '', member: m });

describe('PacketCodec', () => {
  const keyring = Keyring.random();
  const codec = new PacketCodec(keyring, 1400);

  it('round-trips a ping with piggybacked updates through the seal', () => {
    const base = { from: 'a', ping: { seq: 42, target: 'b' }, updates: [], viewChecksum: Buffer.alloc(8, 7) };
    const ups = [alive(member('x')), { id: 'y', incarnation: 9, status: MemberStatus.SUSPECT, from: 'a', member: null }];
    const datagram = codec.seal(codec.join(codec.encodeHead(base), ups.map((u) => ({ bytes: codec.encodeUpdate(u) }))));
    const r = codec.open(datagram);
    if (!('packet' in r)) throw new Error(r.error);
    expect(r.packet.body).toBe('ping');
    expect(r.packet.ping).toMatchObject({ seq: 42, target: 'b' });
    expect(Buffer.from(r.packet.viewChecksum)).toEqual(Buffer.alloc(8, 7));
    expect(r.packet.updates).toHaveLength(2);
    expect(r.packet.updates[0]).toMatchObject({ id: 'x', incarnation: 3, member: { host: '127.0.0.1', dc: 'dc1' } });
    expect(r.packet.updates[1]).toMatchObject({ id: 'y', incarnation: 9, status: MemberStatus.SUSPECT, from: 'a' });
  });

  it('drops what another key sealed, and garbage, as unauthenticated', () => {
    const other = new PacketCodec(Keyring.random(), 1400);
    const base = { from: 'a', ack: { seq: 1 }, updates: [], viewChecksum: Buffer.alloc(0) };
    expect(codec.open(other.seal(other.encodeHead(base)))).toEqual({ error: 'auth' });
    for (let i = 0; i < 200; i++) expect(codec.open(randomBytes(i * 7))).toEqual({ error: 'auth' });
  });

  it('a key in the accepted set opens, so keys rotate without downtime', () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    // Mid-rotation: b already seals with the new key, a still with the old one; both accept both.
    const a = new PacketCodec(new Keyring(oldKey, [newKey]), 1400);
    const b = new PacketCodec(new Keyring(newKey, [oldKey]), 1400);
    const onlyOld = new PacketCodec(new Keyring(oldKey), 1400);
    const base = { from: 'a', ack: { seq: 5 }, updates: [], viewChecksum: Buffer.alloc(0) };
    expect('packet' in b.open(a.seal(a.encodeHead(base)))).toBe(true);
    expect('packet' in a.open(b.seal(b.encodeHead(base)))).toBe(true);
    expect(onlyOld.open(b.seal(b.encodeHead(base)))).toEqual({ error: 'auth' });
  });

  it('authenticated bytes that are not a valid packet are dropped as malformed', () => {
    expect(codec.open(codec.seal(Buffer.from([0xff, 0xff, 0xff])))).toEqual({ error: 'decode' });
    const bad = (p: object): Uint8Array => codec.seal(GossipPacketCodec.encode(p as never));
    expect(codec.open(bad({ from: '', ack: { seq: 1 } }))).toEqual({ error: 'decode' });
    expect(codec.open(bad({ from: 'a', pingReq: { seq: 1, target: 'b', host: 'h', port: 0 } }))).toEqual({ error: 'decode' });
    expect(codec.open(bad({ from: 'a', viewChecksum: Buffer.alloc(3) }))).toEqual({ error: 'decode' });
    expect(codec.open(bad({ from: 'a', updates: [{ id: 'x', incarnation: 1, status: 7 }] }))).toEqual({ error: 'decode' });
    expect(codec.open(bad({ from: 'a', updates: [{ id: 'x', incarnation: 1, status: 0, member: member('y') }] }))).toEqual({ error: 'decode' });
    expect(codec.open(bad({ from: 'a', updates: [alive(member('x', { port: 70000 }))] }))).toEqual({ error: 'decode' });
    expect(codec.open(bad({ from: 'x'.repeat(300), ack: { seq: 1 } }))).toEqual({ error: 'decode' });
  });

  it('a packet without a body (or with a body from a newer protocol) still carries its updates', () => {
    const r = codec.open(codec.seal(GossipPacketCodec.encode({ from: 'a', updates: [alive(member('x'))] } as never)));
    if (!('packet' in r)) throw new Error(r.error);
    expect(r.packet.body).toBeUndefined();
    expect(r.packet.updates).toHaveLength(1);
  });

  it('budget leaves room for the seal: a full packet stays within the datagram limit', () => {
    const base = { from: 'node-with-a-long-name', ping: { seq: 0xffffffff, target: 'another-long-name' }, updates: [], viewChecksum: Buffer.alloc(8) };
    const head = codec.encodeHead(base);
    let room = codec.budget(head.length);
    const chunks: { bytes: Uint8Array }[] = [];
    for (let i = 0; ; i++) {
      const b = codec.encodeUpdate(alive(member(`member-${i}`, { host: '10.0.0.' + i, incarnation: 2 ** 40 + i })));
      if (b.length > room) break;
      room -= b.length;
      chunks.push({ bytes: b });
    }
    expect(chunks.length).toBeGreaterThan(10);
    const datagram = codec.seal(codec.join(head, chunks));
    expect(datagram.length).toBeLessThanOrEqual(1400);
    expect(datagram.length).toBeGreaterThan(1300);
    const r = codec.open(datagram);
    expect('packet' in r && r.packet.updates.length).toBe(chunks.length);
  });
});
