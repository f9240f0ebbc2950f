// The coordinator over real storage engines, with the network between nodes
// replaced by direct calls (this is a test of the coordinator alone; the real
// transport is covered by the cluster tests). Nodes can be "down" (membership
// knows) or "silent" (membership thinks they are up, but requests fail).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SiblingSet } from '../../src/codec/index.js';
import { Coordinator, HintedHandoff, type ReplicaPeers } from '../../src/coordinator/index.js';
import { QuorumUnavailableError, UnavailableError } from '../../src/errors.js';
import { PreferenceLists, createRing, joinRing } from '../../src/ring/index.js';
import { Store } from '../../src/storage/index.js';
import { systemClock } from '../../src/time.js';
import { coordinatorOptions } from './support.js';

const IDS = ['n1', 'n2', 'n3', 'n4', 'n5'];

interface Sim {
  stores: Map<string, Store>;
  coords: Map<string, Coordinator>;
  down: Set<string>;
  silent: Set<string>;
  placement: PreferenceLists;
  calls: Array<{ op: string; to: string; hintFor?: string }>;
  dir: string;
  peers: ReplicaPeers;
}

let sim: Sim;

async function makeSim(): Promise<Sim> {
  const dir = await mkdtemp(join(tmpdir(), 'shoal-coord-'));
  let ring = createRing(64, IDS[0]!);
  for (const id of IDS.slice(1)) ring = joinRing(ring, id);
  const s: Sim = { stores: new Map(), coords: new Map(), down: new Set(), silent: new Set(), placement: new PreferenceLists(ring, 3), calls: [], dir, peers: {} as ReplicaPeers };
  for (const id of IDS) s.stores.set(id, await Store.open({ path: join(dir, id), sweepIntervalMs: 0 }));
  const reachable = (to: string) => {
    if (s.down.has(to) || s.silent.has(to)) throw new UnavailableError(`${to} is unreachable`);
  };
  const peers: ReplicaPeers = {
    write: async (to, key, set, hintFor) => {
      s.calls.push({ op: 'write', to, hintFor });
      reachable(to);
      await s.coords.get(to)!.replicaWrite(key, structuredClone(set), hintFor);
    },
    read: async (to, key, readFor) => {
      s.calls.push({ op: 'read', to });
      reachable(to);
      return s.coords.get(to)!.replicaRead(key, readFor);
    },
    forwardPut: async (to, req) => {
      s.calls.push({ op: 'forwardPut', to });
      reachable(to);
      return s.coords.get(to)!.put(req.key, req.value, { ...req, forwarded: true });
    },
    forwardDelete: async (to, req) => {
      s.calls.push({ op: 'forwardDelete', to });
      reachable(to);
      await s.coords.get(to)!.delete(req.key, { ...req, forwarded: true });
    },
    forwardTouch: async (to, req) => {
      s.calls.push({ op: 'forwardTouch', to });
      reachable(to);
      return s.coords.get(to)!.touch(req.key, req.ttlMs, { ...req, forwarded: true });
    },
  };
  s.peers = peers;
  for (const id of IDS) {
    s.coords.set(
      id,
      new Coordinator(coordinatorOptions({
        nodeId: id,
        local: s.stores.get(id)!,
        peers,
        cluster: { placement: () => s.placement, isReachable: (x) => !s.down.has(x) },
      })),
    );
  }
  return s;
}

beforeEach(async () => {
  sim = await makeSim();
});

afterEach(async () => {
  for (const c of sim.coords.values()) await c.drain();
  for (const st of sim.stores.values()) await st.close();
  await rm(sim.dir, { recursive: true, force: true });
});

const key = (s: string) => Buffer.from(s);
const texts = (vs: Buffer[]) => vs.map((v) => v.toString()).sort();
const replicasOf = (k: string) => sim.placement.replicas(sim.placement.partitionOf(key(k)));
const nonReplicaOf = (k: string) => IDS.find((id) => !replicasOf(k).includes(id))!;
const local = async (id: string, k: string): Promise<SiblingSet | undefined> => sim.stores.get(id)!.getSet(key(k));

/**
 * Replica writes through ReplicaPeers.writeTo (an outcome object, no promise),
 * as PeerReplicas does; a write to an unreachable node fails before writeTo
 * returns, as a request the RPC client refuses at once.
 */
function enableOutcomes(s: Sim): void {
  s.peers.writeTo = (to, k, set, hintFor, _timeoutMs, _ringId, outcome) => {
    s.calls.push({ op: 'write', to, hintFor });
    if (s.down.has(to) || s.silent.has(to)) return outcome.failed(new UnavailableError(`${to} is unreachable`));
    s.coords.get(to)!.replicaWrite(k, structuredClone(set), hintFor).then(
      () => outcome.written(),
      (err: unknown) => outcome.failed(err),
    );
  };
}

describe.each([
  ['write()', false],
  ['writeTo()', true],
])('coordinator, replica writes through %s', (_through, outcomes) => {
  beforeEach(() => {
    if (outcomes) enableOutcomes(sim);
  });

  it('a write through any node is readable through any other, and lands on exactly the N replicas', async () => {
    for (let i = 0; i < 20; i++) {
      const via = IDS[i % 5]!;
      await sim.coords.get(via)!.put(key(`k${i}`), Buffer.from(`v${i}`));
      for (const reader of IDS) expect(texts((await sim.coords.get(reader)!.get(key(`k${i}`))).values)).toEqual([`v${i}`]);
    }
    await Promise.all([...sim.coords.values()].map((c) => c.drain()));
    for (let i = 0; i < 20; i++) {
      const holders = [];
      for (const id of IDS) if ((await local(id, `k${i}`)) !== undefined) holders.push(id);
      expect(holders.sort()).toEqual([...replicasOf(`k${i}`)].sort());
    }
  });

  it('a node outside the preference list forwards the write to a replica', async () => {
    const outsider = nonReplicaOf('fwd');
    await sim.coords.get(outsider)!.put(key('fwd'), Buffer.from('x'));
    expect(sim.coords.get(outsider)!.stats.forwarded).toBe(1);
    expect(await local(outsider, 'fwd')).toBeUndefined();
  });

  it('concurrent writes become siblings; a write with their context resolves them; a delete with context removes', async () => {
    const [a, b] = replicasOf('s');
    await Promise.all([sim.coords.get(a!)!.put(key('s'), Buffer.from('A')), sim.coords.get(b!)!.put(key('s'), Buffer.from('B'))]);
    const seen = await sim.coords.get(IDS[4]!)!.get(key('s'), { r: 3 });
    expect(texts(seen.values)).toEqual(['A', 'B']);
    await sim.coords.get(IDS[2]!)!.put(key('s'), Buffer.from('C'), { context: seen.context });
    const after = await sim.coords.get(IDS[3]!)!.get(key('s'), { r: 3 });
    expect(texts(after.values)).toEqual(['C']);
    await sim.coords.get(IDS[0]!)!.delete(key('s'), { context: after.context });
    expect((await sim.coords.get(IDS[1]!)!.get(key('s'), { r: 3 })).values).toEqual([]);
  });

  it('with one replica down writes at W=2 succeed, and with two of five down the sloppy quorum stores hints', async () => {
    const reps = replicasOf('h');
    sim.down.add(reps[1]!);
    await sim.coords.get(reps[0]!)!.put(key('h'), Buffer.from('one-down'));
    sim.down.add(reps[2]!);
    await sim.coords.get(reps[0]!)!.put(key('h'), Buffer.from('two-down'), { context: (await sim.coords.get(reps[0]!)!.get(key('h'), { r: 1 })).context });
    await sim.coords.get(reps[0]!)!.drain();
    // The fallbacks hold hints for the down replicas, not data of their own.
    const fallbacks = IDS.filter((id) => !reps.includes(id));
    const owners = new Set<string>();
    for (const f of fallbacks) for (const o of await sim.stores.get(f)!.hintOwners()) owners.add(o);
    expect([...owners].sort()).toEqual([reps[1]!, reps[2]!].sort());
    for (const f of fallbacks) expect(await local(f, 'h')).toBeUndefined();
    // Reads during the failure go to the same stand-ins and see the write.
    expect(texts((await sim.coords.get(reps[0]!)!.get(key('h'))).values)).toEqual(['two-down']);
    await sim.coords.get(reps[0]!)!.drain();

    // The replicas return; handoff delivers every hint and deletes it.
    sim.down.clear();
    for (const f of fallbacks) {
      const h = new HintedHandoff({
        hints: sim.stores.get(f)!,
        peers: {
          write: (to: string, k: Buffer, set: SiblingSet) => sim.coords.get(to)!.replicaWrite(k, set, ''),
        } as unknown as ReplicaPeers,
        isReachable: () => true,
        clock: systemClock,
        intervalMs: 60_000,
        maxAgeMs: 3_600_000,
        concurrency: 4,
        replicaTimeoutMs: 1000,
      });
      await h.runOnce();
    }
    for (const f of fallbacks) expect(sim.stores.get(f)!.hintCount()).toBe(0);
    for (const r of reps) {
      const st = await sim.stores.get(r)!.get(key('h'));
      expect(texts(st.values)).toEqual(['two-down']);
    }
  });

  it('when no stand-in is left, the coordinator keeps the hint itself (it does not count for W)', async () => {
    const reps = replicasOf('c');
    for (const id of IDS) if (!reps.includes(id)) sim.down.add(id);
    sim.down.add(reps[2]!);
    const coord = sim.coords.get(reps[0]!)!;
    await coord.put(key('c'), Buffer.from('v'));
    await coord.drain();
    expect(await sim.stores.get(reps[0]!)!.hintOwners()).toEqual([reps[2]!]);
    expect(coord.stats.coordinatorHints).toBe(1);
    await expect(coord.put(key('c'), Buffer.from('v2'), { w: 3 })).rejects.toBeInstanceOf(QuorumUnavailableError);
  });

  it('a replica that fails during the request (not yet known down) is replaced by a fallback', async () => {
    const reps = replicasOf('f');
    sim.silent.add(reps[1]!);
    sim.silent.add(reps[2]!);
    await sim.coords.get(reps[0]!)!.put(key('f'), Buffer.from('v'), { w: 3 });
    await sim.coords.get(reps[0]!)!.drain();
    const hinted = sim.calls.filter((c) => c.op === 'write' && c.hintFor !== '' && c.hintFor !== undefined);
    expect(hinted.map((c) => c.hintFor).sort()).toEqual([reps[1]!, reps[2]!].sort());
  });

  it('fails with QuorumUnavailable when W replicas cannot be reached anywhere, and never loses the acknowledged write', async () => {
    const reps = replicasOf('q');
    await sim.coords.get(reps[0]!)!.put(key('q'), Buffer.from('acked'));
    for (const id of IDS) if (id !== reps[0]) sim.silent.add(id);
    await expect(sim.coords.get(reps[0]!)!.put(key('q'), Buffer.from('lonely'))).rejects.toBeInstanceOf(QuorumUnavailableError);
    expect(sim.coords.get(reps[0]!)!.stats.quorumFailures).toBe(1);
    sim.silent.clear();
    // The failed write reached one replica; it is a sibling, and the acknowledged one is still there.
    expect(texts((await sim.coords.get(reps[1]!)!.get(key('q'), { r: 3 })).values)).toEqual(['acked', 'lonely']);
  });

  it('read repair brings a stale replica up to date without delaying the reply', async () => {
    const reps = replicasOf('rr');
    sim.down.add(reps[2]!);
    await sim.coords.get(reps[0]!)!.put(key('rr'), Buffer.from('fresh'));
    sim.down.clear();
    // reps[2] missed it (a hint was left elsewhere; we do not deliver it here).
    expect(await local(reps[2]!, 'rr')).toBeUndefined();
    expect(texts((await sim.coords.get(reps[0]!)!.get(key('rr'), { r: 3 })).values)).toEqual(['fresh']);
    await sim.coords.get(reps[0]!)!.drain();
    expect(texts((await sim.stores.get(reps[2]!)!.get(key('rr'))).values)).toEqual(['fresh']);
    expect(sim.coords.get(reps[0]!)!.stats.readRepairs).toBeGreaterThanOrEqual(1);
  });

  it('rejects bad requests before touching any replica', async () => {
    const c = sim.coords.get('n1')!;
    await expect(c.put(Buffer.alloc(2000), Buffer.from('v'))).rejects.toMatchObject({ code: 'SHOAL_TOO_LARGE' });
    await expect(c.put(key('k'), Buffer.alloc(1024 * 1024 + 1))).rejects.toMatchObject({ code: 'SHOAL_TOO_LARGE' });
    await expect(c.put(key('k'), Buffer.from('v'), { context: Buffer.from([9, 9, 9]) })).rejects.toMatchObject({ code: 'SHOAL_BAD_CONTEXT' });
    await expect(c.put(key('k'), Buffer.from('v'), { w: 4 })).rejects.toMatchObject({ code: 'SHOAL_BAD_REQUEST' });
    await expect(c.get(key('k'), { r: 0.5 })).rejects.toMatchObject({ code: 'SHOAL_BAD_REQUEST' });
    await expect(c.get(Buffer.alloc(0))).rejects.toMatchObject({ code: 'SHOAL_BAD_REQUEST' });
    expect(sim.calls).toEqual([]);
  });
});

describe('coordinator: replication while the local batch commits', () => {
  it('the other replicas are sent the new state before the coordinator has committed it', async () => {
    const reps = replicasOf('early');
    const coordId = reps[0]!;
    const committedAtSend: Array<SiblingSet | undefined> = [];
    const batchesAtSend: number[] = [];
    // Watch the coordinator's own store at the moment each replica write leaves.
    const watched = new Coordinator(coordinatorOptions({
      nodeId: coordId,
      w: 3,
      local: sim.stores.get(coordId)!,
      peers: {
        write: async (to: string, k: Buffer, set: SiblingSet, hintFor: string) => {
          batchesAtSend.push(sim.stores.get(coordId)!.stats.batches);
          committedAtSend.push(await sim.stores.get(coordId)!.getSet(k));
          await sim.coords.get(to)!.replicaWrite(k, structuredClone(set), hintFor);
        },
      } as unknown as ReplicaPeers,
      cluster: { placement: () => sim.placement, isReachable: () => true },
    }));
    const before = sim.stores.get(coordId)!.stats.batches;
    const out = await watched.put(key('early'), Buffer.from('v'));
    await watched.drain();
    expect(batchesAtSend).toEqual([before, before]);
    expect(committedAtSend).toEqual([undefined, undefined]);
    // W=3: the reply waited for every replica, the coordinator's own commit included.
    for (const id of reps) expect(texts((await sim.stores.get(id)!.get(key('early'))).values)).toEqual(['v']);
    expect(out.context.equals((await sim.stores.get(coordId)!.getSet(key('early')))!.clock as Buffer)).toBe(true);
  });

  it('a local write that fails after staging fails the request; a local write that fails before sends nothing', async () => {
    const reps = replicasOf('lf');
    const sent: string[] = [];
    let failAfterStaging = true;
    // A one-sibling set (actor 1, counter 1) as the staged state.
    const staged: SiblingSet = {
      clock: Buffer.from([1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1]),
      siblings: [{ dot: Buffer.from([1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]), value: Buffer.from('v'), tombstone: false, expiresAt: 0, writtenAt: 1 }],
    };
    const c = new Coordinator(coordinatorOptions({
      nodeId: reps[0]!,
      local: {
        put: async (_k: Buffer, _v: Buffer, o: { staged?: (s: SiblingSet) => void }) => {
          if (!failAfterStaging) throw new UnavailableError('disk gone before');
          o.staged?.(staged);
          await new Promise((r) => setImmediate(r));
          throw new UnavailableError('disk gone after');
        },
      } as never,
      peers: {
        write: async (to: string) => {
          sent.push(to);
        },
      } as unknown as ReplicaPeers,
      cluster: { placement: () => sim.placement, isReachable: () => true },
    }));
    await expect(c.put(key('lf'), Buffer.from('v'))).rejects.toThrow('disk gone after');
    await c.drain();
    expect(sent.sort()).toEqual([reps[1]!, reps[2]!].sort());
    sent.length = 0;
    failAfterStaging = false;
    await expect(c.put(key('lf'), Buffer.from('v'))).rejects.toThrow('disk gone before');
    await c.drain();
    expect(sent).toEqual([]);
  });

  it('a replica answering a read with a set that does not merge fails the read, and nothing is left unhandled', async () => {
    const reps = replicasOf('bad');
    await sim.coords.get(reps[0]!)!.put(key('bad'), Buffer.from('v'));
    await sim.coords.get(reps[0]!)!.drain();
    const c = new Coordinator(coordinatorOptions({
      nodeId: reps[0]!,
      r: 3,
      local: sim.stores.get(reps[0]!)!,
      peers: {
        // A clock of format 9: not a version vector.
        read: async () => ({ clock: Buffer.from([9, 9]), siblings: [] }),
        write: async () => {},
      } as unknown as ReplicaPeers,
      cluster: { placement: () => sim.placement, isReachable: () => true },
    }));
    await expect(c.get(key('bad'))).rejects.toThrow();
    await c.drain();
  });
});
