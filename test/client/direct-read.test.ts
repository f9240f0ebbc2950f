// DirectRead alone, with a scripted owner: which replicas it asks and when, when it
// answers, when it gives up (so the SDK falls back to a node), and when it asks
// for a read repair. The cluster tests (test/cluster/direct-read.test.ts) run it
// against real nodes.
import { describe, expect, it } from 'vitest';
import { type Member, QuorumScopeCode, type SiblingSet } from '../../src/codec/index.js';
import { DirectRead, type DirectReadOwner } from '../../src/client/direct-read.js';
import { LatencyWindow } from '../../src/coordinator/index.js';
import { StaleRingError, TooLargeError, UnavailableError } from '../../src/errors.js';
import type { Body } from '../../src/transport/index.js';
import { EMPTY_CONTEXT, applyWrite } from '../../src/version/index.js';

const member = (id: string): Member => ({ id, host: '127.0.0.1', port: 1 }) as Member;
const REPLICAS = [member('a'), member('b'), member('c')];
const RING = Buffer.alloc(8, 7);
const SCOPE = QuorumScopeCode.LOCAL;

function write(current: SiblingSet | undefined, actor: bigint, counter: number, value: string, context = EMPTY_CONTEXT): SiblingSet {
  return applyWrite(current, { actor, counter, context, value: Buffer.from(value), tombstone: false, expiresAt: 0, writtenAt: 1 });
}

interface Pending {
  node: string;
  body: Body;
  reply(set: SiblingSet | undefined): void;
  fail(err: Error): void;
}

/** An owner whose requests wait until the test answers them. */
function scripted(times = new LatencyWindow(99)): { owner: DirectReadOwner; asked: Pending[]; repairs: number; repairOf: unknown[]; stale: number; speculated: number } {
  const state = { asked: [] as Pending[], repairs: 0, repairOf: [] as unknown[], stale: 0, speculated: 0, owner: undefined as unknown as DirectReadOwner };
  state.owner = {
    send: (m, body, handler) => {
      state.asked.push({
        node: m.id,
        body,
        reply: (set) => handler.reply({ kind: 'replicaReadReply', value: { found: set !== undefined, set: set ?? null } }),
        fail: (err) => handler.fail(err),
      });
    },
    times,
    repair: (key, replicas, scope) => {
      state.repairs++;
      state.repairOf = [String(key), replicas, scope];
    },
    staleRing: () => void state.stale++,
    speculated: () => void state.speculated++,
  };
  return state;
}

const settle = () => new Promise((r) => setImmediate(r));

describe('DirectRead', () => {
  it('asks R replicas with the ring id, answers with their merge, and repairs nothing when they agree', async () => {
    const s = scripted();
    const set = write(undefined, 1n, 1, 'v1');
    const read = new DirectRead(s.owner, Buffer.from('k'), 2, REPLICAS, RING, SCOPE);
    expect(s.asked.map((p) => p.node)).toEqual(['a', 'b']);
    const body = s.asked[0]!.body;
    expect(body.kind === 'replicaRead' && Buffer.from(body.value.ringId!).equals(RING) && body.value.readFor === '').toBe(true);
    s.asked[0]!.reply(set);
    s.asked[1]!.reply(set);
    const got = await read.done;
    expect(got.values.map(String)).toEqual(['v1']);
    expect(got.context.equals(Buffer.from(set.clock))).toBe(true);
    expect(s.asked).toHaveLength(2);
    expect(s.repairs).toBe(0);
  });

  it('merges concurrent versions into siblings, and asks for a repair of the replica that lacked one', async () => {
    const s = scripted();
    const x = write(undefined, 1n, 1, 'x');
    const both = write(x, 2n, 1, 'y');
    const read = new DirectRead(s.owner, Buffer.from('k'), 2, REPLICAS, RING, SCOPE);
    s.asked[0]!.reply(x);
    s.asked[1]!.reply(both);
    expect((await read.done).values.map(String).sort()).toEqual(['x', 'y']);
    expect(s.repairs).toBe(1);
    // The node that repairs reads every replica the direct read could ask, in its scope.
    expect(s.repairOf).toEqual(['k', 3, QuorumScopeCode.LOCAL]);
  });

  it('asks the spare for an absent reply, and answers "absent" only after every replica said so', async () => {
    const s = scripted();
    const read = new DirectRead(s.owner, Buffer.from('k'), 2, REPLICAS, RING, SCOPE);
    let done = false;
    void read.done.then(() => (done = true));
    s.asked[0]!.reply(undefined);
    await settle();
    expect(s.asked.map((p) => p.node)).toEqual(['a', 'b', 'c']);
    s.asked[1]!.reply(undefined);
    await settle();
    expect(done).toBe(false);
    s.asked[2]!.reply(undefined);
    expect((await read.done).values).toEqual([]);
    expect(s.repairs).toBe(0);
  });

  it('answers from two holders when the third is absent, and repairs the absent one', async () => {
    const s = scripted();
    const set = write(undefined, 1n, 1, 'v');
    const read = new DirectRead(s.owner, Buffer.from('k'), 2, REPLICAS, RING, SCOPE);
    s.asked[0]!.reply(undefined);
    s.asked[1]!.reply(set);
    await settle();
    s.asked[2]!.reply(set);
    expect((await read.done).values.map(String)).toEqual(['v']);
    expect(s.repairs).toBe(1);
  });

  it('replaces a failed replica with the spare, and rejects when too few can answer', async () => {
    const s = scripted();
    const set = write(undefined, 1n, 1, 'v');
    const ok = new DirectRead(s.owner, Buffer.from('k'), 2, REPLICAS, RING, SCOPE);
    s.asked[0]!.fail(new UnavailableError('down'));
    s.asked[1]!.reply(set);
    await settle();
    expect(s.asked[2]!.node).toBe('c');
    s.asked[2]!.reply(set);
    expect((await ok.done).values.map(String)).toEqual(['v']);

    const t = scripted();
    const bad = new DirectRead(t.owner, Buffer.from('k'), 2, REPLICAS, RING, SCOPE);
    t.asked[0]!.fail(new StaleRingError('moved on'));
    t.asked[1]!.reply(set);
    await settle();
    t.asked[2]!.fail(new UnavailableError('down'));
    await expect(bad.done).rejects.toThrow(UnavailableError);
    expect(t.stale).toBe(1);
  });

  it('handles replicas refused during send() (peer in backoff): spares are asked, each replica once', async () => {
    const set = write(undefined, 1n, 1, 'v');
    // The owner refuses a at once, as RpcPeers does for a peer in backoff.
    const s = scripted();
    const send = s.owner.send;
    const refuse = new Set(['a']);
    const owner: DirectReadOwner = { ...s.owner, send: (m, body, h) => (refuse.has(m.id) ? h.fail(new UnavailableError(`${m.id} in backoff`)) : send(m, body, h)) };
    const read = new DirectRead(owner, Buffer.from('k'), 2, REPLICAS, RING, SCOPE);
    expect(s.asked.map((p) => p.node)).toEqual(['b', 'c']);
    s.asked[0]!.reply(set);
    s.asked[1]!.reply(set);
    expect((await read.done).values.map(String)).toEqual(['v']);
    // Two of three refused at once: once c has answered, too few could, and the read rejects.
    refuse.add('b');
    const bad = new DirectRead(owner, Buffer.from('k'), 2, REPLICAS, RING, SCOPE);
    expect(s.asked.map((p) => p.node)).toEqual(['b', 'c', 'c']);
    s.asked[2]!.reply(set);
    await expect(bad.done).rejects.toThrow(UnavailableError);
  });

  it('rejects at once, with no spare, when a replica refuses the request itself', async () => {
    const s = scripted();
    const read = new DirectRead(s.owner, Buffer.from('k'), 2, REPLICAS, RING, SCOPE);
    s.asked[0]!.fail(new TooLargeError('the key is 2048 bytes; the limit is 1024'));
    await expect(read.done).rejects.toThrow(TooLargeError);
    expect(s.asked).toHaveLength(2);
  });

  it('asks one more replica when the asked ones are slower than the recent percentile', async () => {
    const times = new LatencyWindow(99, 64, 1, 1);
    times.record(1);
    const s = scripted(times);
    const set = write(undefined, 1n, 1, 'v');
    const read = new DirectRead(s.owner, Buffer.from('k'), 2, REPLICAS, RING, SCOPE);
    s.asked[0]!.reply(set);
    // No reply from b: within a bounded wait the spare is asked, and its reply completes the read.
    const deadline = Date.now() + 10_000;
    while (s.asked.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(s.asked.map((p) => p.node)).toEqual(['a', 'b', 'c']);
    expect(s.speculated).toBe(1);
    s.asked[2]!.reply(set);
    expect((await read.done).values.map(String)).toEqual(['v']);
    s.asked[1]!.reply(set);
    await settle();
    expect(s.repairs).toBe(0);
  });
});
