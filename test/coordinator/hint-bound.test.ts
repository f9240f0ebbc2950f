// The hint count bound seen from the coordinator: a fallback whose hint store is
// full refuses, and the coordinator moves on to the next fallback (real stores,
// the network between nodes replaced by direct calls).
import { afterEach, describe, expect, it } from 'vitest';
import { Coordinator, type ReplicaPeers } from '../../src/coordinator/index.js';
import { QuorumUnavailableError, UnavailableError } from '../../src/errors.js';
import { PreferenceLists, createRing, joinRing } from '../../src/ring/index.js';
import { TestStores, coordinatorOptions } from './support.js';

const IDS = ['n1', 'n2', 'n3', 'n4', 'n5'];
const KEY = Buffer.from('bounded');
const stores = new TestStores('shoal-hintbound-');
const coords = new Map<string, Coordinator>();

afterEach(async () => {
  for (const c of coords.values()) await c.drain();
  coords.clear();
  await stores.closeAll();
});

/** Five nodes; `full` hold no hints at all (maxHints 0); `down` are known dead. */
async function cluster(full: (walk: readonly string[]) => string[], down: (walk: readonly string[]) => string[]) {
  let ring = createRing(64, IDS[0]!);
  for (const id of IDS.slice(1)) ring = joinRing(ring, id);
  const placement = new PreferenceLists(ring, 3);
  const walk = placement.walk(placement.partitionOf(KEY));
  const fullSet = new Set(full(walk));
  const downSet = new Set(down(walk));
  await stores.open(IDS, (id) => (fullSet.has(id) ? { maxHints: 0 } : {}));
  const peers: ReplicaPeers = {
    write: async (to, key, set, hintFor) => {
      if (downSet.has(to)) throw new UnavailableError(`${to} is down`);
      await coords.get(to)!.replicaWrite(key, structuredClone(set), hintFor);
    },
    read: async (to, key, readFor) => {
      if (downSet.has(to)) throw new UnavailableError(`${to} is down`);
      return coords.get(to)!.replicaRead(key, readFor);
    },
    forwardPut: async (to, req) => coords.get(to)!.put(req.key, req.value, { ...req, forwarded: true }),
    forwardDelete: async (to, req) => coords.get(to)!.delete(req.key, { ...req, forwarded: true }),
    forwardTouch: async (to, req) => coords.get(to)!.touch(req.key, req.ttlMs, { ...req, forwarded: true }),
  };
  for (const id of IDS) {
    coords.set(
      id,
      new Coordinator(coordinatorOptions({
        nodeId: id,
        local: stores.get(id)!,
        peers,
        cluster: { placement: () => placement, isReachable: (x) => !downSet.has(x) },
      })),
    );
  }
  return walk;
}

describe('coordinator with bounded hint stores', () => {
  it('skips a fallback whose hint store is full and hints on the next one', async () => {
    // walk: [r1, r2, r3, f1, f2]; r3 is down, f1 holds no hints.
    const walk = await cluster((w) => [w[3]!], (w) => [w[2]!]);
    const [r1, , r3, f1, f2] = walk;
    await coords.get(r1!)!.put(KEY, Buffer.from('v'), { w: 3 });
    await Promise.all([...coords.values()].map((c) => c.drain()));
    expect(stores.get(f1!)!.stats.hintsRefused).toBe(1);
    expect(stores.get(f1!)!.hintCount()).toBe(0);
    expect((await stores.get(f2!)!.getHint(r3!, KEY))?.siblings.map((s) => Buffer.from(s.value).toString())).toEqual(['v']);
  });

  it('fails a write that needs a fallback when every fallback is full, keeping what the replicas took', async () => {
    const walk = await cluster((w) => [w[0]!, w[3]!, w[4]!], (w) => [w[2]!]);
    const [r1, r2] = walk;
    await expect(coords.get(r1!)!.put(KEY, Buffer.from('v'), { w: 3 })).rejects.toBeInstanceOf(QuorumUnavailableError);
    await Promise.all([...coords.values()].map((c) => c.drain()));
    // The coordinator's own hint for the down replica was refused too (counted).
    expect(stores.get(r1!)!.stats.hintsRefused).toBeGreaterThanOrEqual(1);
    // Not acknowledged, but not lost either: both live replicas hold it.
    for (const id of [r1!, r2!]) expect((await stores.get(id)!.get(KEY)).values.map(String)).toEqual(['v']);
  });
});
