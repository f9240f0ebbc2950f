// The Membership object's contract on its own: construction, lifecycle, bad input
// from peers and callers, events, incarnation persistence.
import { afterEach, describe, expect, it } from 'vitest';
import { MemberStatus, RingStatus } from '../../src/codec/index.js';
import type { Member } from '../../src/codec/index.js';
import { ErrorCodes } from '../../src/errors.js';
import { Membership, MemoryIncarnationStore, MemoryPushPullNetwork, SimulatedTime } from '../../src/membership/index.js';
import type { MembershipOptions } from '../../src/membership/index.js';
import { Keyring, MemoryNetwork } from '../../src/transport/index.js';

const time = new SimulatedTime();
const network = new MemoryNetwork({ schedule: time.schedule });
const pushPull = new MemoryPushPullNetwork({ schedule: time.schedule });
const keyring = Keyring.random();
const started: Membership[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((m) => m.stop()));
});

async function make(over: Partial<MembershipOptions> = {}): Promise<Membership> {
  const transport = network.transport();
  await transport.start();
  const m = new Membership({ id: `m${transport.port}`, keyring, transport, pushPull: pushPull.channel(keyring), profile: 'fast', timers: time, ...over });
  started.push(m);
  return m;
}

const entry = (id: string, over: Partial<Member> = {}): Member => ({
  id,
  host: '127.0.0.1',
  port: 9999,
  dc: '',
  rack: '',
  capacity: 1,
  incarnation: 0,
  status: MemberStatus.ALIVE,
  ringStatus: RingStatus.ACTIVE,
  httpPort: 0,
  protocol: 1,
  statusAt: 0,
  ...over,
});

describe('Membership', () => {
  it('rejects bad options with clear errors', async () => {
    const transport = network.transport();
    const base = { keyring, transport, pushPull: pushPull.channel(keyring) };
    expect(() => new Membership({ ...base, id: '' })).toThrow(expect.objectContaining({ code: ErrorCodes.BAD_REQUEST }));
    expect(() => new Membership({ ...base, id: 'x'.repeat(256) })).toThrow(expect.objectContaining({ code: ErrorCodes.BAD_REQUEST }));
    expect(() => new Membership({ ...base, id: 'a', seeds: ['nonsense'] })).toThrow(RangeError);
    expect(() => new Membership({ ...base, id: 'a', config: { maxDatagramBytes: 9000 } })).toThrow(RangeError);
    expect(() => new Membership({ ...base, id: 'a', config: { probeTimeoutMs: 5000 } })).toThrow(RangeError);
    const m = new Membership({ ...base, id: 'a', dc: 'x'.repeat(300) });
    await expect(m.start()).rejects.toThrow(expect.objectContaining({ code: ErrorCodes.BAD_REQUEST }));
  });

  it('starts at the saved incarnation + 1 and saves it; start twice is refused; stop is idempotent', async () => {
    const store = new MemoryIncarnationStore(41);
    const m = await make({ incarnations: store });
    await m.start();
    expect(m.self.incarnation).toBe(42);
    expect(store.value).toBe(42);
    expect(m.self.status).toBe(MemberStatus.ALIVE);
    expect(m.members()).toHaveLength(1);
    await expect(m.start()).rejects.toThrow(expect.objectContaining({ code: ErrorCodes.CLOSED }));
    await m.stop();
    await m.stop();
    expect(() => m.update({ ringStatus: RingStatus.ACTIVE })).toThrow(expect.objectContaining({ code: ErrorCodes.CLOSED }));
    expect(() => m.handlePushPull({ members: [], join: false })).toThrow(expect.objectContaining({ code: ErrorCodes.UNAVAILABLE }));
  });

  it('a malformed push-pull is refused with SHOAL_BAD_REQUEST and merges nothing', async () => {
    const m = await make();
    await m.start();
    const sum = m.checksum();
    const bad: unknown[] = [
      { members: [entry('ok'), entry('bad', { port: 0 })], join: false },
      { members: [entry('ok'), entry('bad', { status: 9 as MemberStatus })], join: false },
      { members: [entry('ok'), entry('', {})], join: false },
      { members: [entry('ok'), entry('bad', { incarnation: 2 ** 60 })], join: false },
      { members: 'nope', join: false },
      null,
    ];
    for (const b of bad) {
      expect(() => m.handlePushPull(b as never)).toThrow(expect.objectContaining({ code: ErrorCodes.BAD_REQUEST }));
    }
    expect(m.checksum()).toBe(sum);
    expect(m.member('ok')).toBeUndefined();
    // A good one merges and is answered with this member's view, its own entry first.
    const reply = m.handlePushPull({ members: [entry('peer')], join: true });
    expect(reply.members[0]!.id).toBe(m.id);
    expect(m.member('peer')?.status).toBe(MemberStatus.ALIVE);
  });

  it('emits one event per view change, and a throwing listener is counted, not fatal', async () => {
    const m = await make();
    await m.start();
    const seen: string[] = [];
    for (const ev of ['joined', 'updated', 'alive', 'suspect', 'dead', 'left'] as const) {
      m.on(ev, (x, prev) => seen.push(`${ev} ${x.id} ${prev === undefined ? '-' : prev.status}`));
    }
    m.on('joined', () => {
      throw new Error('listener bug');
    });
    m.handlePushPull({ members: [entry('p'), entry('q', { status: MemberStatus.DEAD, incarnation: 3 })], join: false });
    m.handlePushPull({ members: [entry('p', { incarnation: 1, ringStatus: RingStatus.LEAVING })], join: false });
    m.handlePushPull({ members: [entry('q', { incarnation: 4 })], join: false });
    m.handlePushPull({ members: [entry('p', { incarnation: 1, status: MemberStatus.LEFT, statusAt: time.now() })], join: false });
    expect(seen).toEqual(['joined p -', 'dead q -', 'updated p 0', 'alive q 2', 'left p 0']);
    expect(m.stats().listenerErrors).toBe(1);
  });

  it('refutes what a peer says about it, and publishes metadata changes with a higher incarnation', async () => {
    const m = await make();
    await m.start();
    const inc = m.self.incarnation;
    m.handlePushPull({ members: [entry('p'), { ...m.self, status: MemberStatus.DEAD, incarnation: inc + 5 }], join: false });
    expect(m.self.incarnation).toBe(inc + 6);
    expect(m.self.status).toBe(MemberStatus.ALIVE);
    expect(m.stats().refutations).toBe(1);
    m.update({ ringStatus: RingStatus.ACTIVE, capacity: 4 });
    expect(m.self).toMatchObject({ incarnation: inc + 7, ringStatus: RingStatus.ACTIVE, capacity: 4 });
    expect(() => m.update({ capacity: -1 })).toThrow(expect.objectContaining({ code: ErrorCodes.BAD_REQUEST }));
    expect(m.self.capacity).toBe(4);
  });

  it('a left entry past its retention is not taken in for an unknown member, but still applies to a known one', async () => {
    const m = await make({ config: { leftRetentionMs: 60_000 } });
    await m.start();
    const longAgo = time.now() - 120_000;
    m.handlePushPull({ members: [entry('peer'), entry('ghost', { status: MemberStatus.LEFT, statusAt: longAgo })], join: false });
    expect(m.member('ghost')).toBeUndefined();
    m.handlePushPull({ members: [entry('peer', { status: MemberStatus.LEFT, statusAt: longAgo })], join: false });
    expect(m.member('peer')?.status).toBe(MemberStatus.LEFT);
    // A recent leave is kept, with the time the member left.
    const recent = time.now() - 1000;
    m.handlePushPull({ members: [entry('other'), entry('gone', { status: MemberStatus.LEFT, statusAt: recent })], join: false });
    expect(m.member('gone')).toMatchObject({ status: MemberStatus.LEFT, statusAt: recent });
  });
});
