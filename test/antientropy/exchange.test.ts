// Merkle exchanges between two real replicas (real LevelDB, real RPC on 127.0.0.1):
// repair both ways with siblings kept, traffic proportional to the differences,
// paging and resumption, and refusal of bad requests.
import { describe, expect, it } from 'vitest';
import { AntiEntropy, ByteBudget, fastAntiEntropy, runExchange, type ExchangeMode } from '../../src/antientropy/index.js';
import { native } from '../../src/native.js';
import type { Store } from '../../src/storage/index.js';
import { FANOUT, type Replica, SEGMENTS, isBadRequest, replicas } from './support.js';

const cluster = replicas();
const Q = 16;

async function copyAll(from: Store, to: Store): Promise<void> {
  let batch: Array<Promise<unknown>> = [];
  for (let p = 0; p < Q; p++) {
    for await (const r of from.scanPartition(p, Q)) {
      batch.push(to.merge(Buffer.from(r.key), r.set));
      if (batch.length >= 256) {
        await Promise.all(batch);
        batch = [];
      }
    }
  }
  await Promise.all(batch);
}

async function fill(s: Store, n: number, prefix = 'k'): Promise<void> {
  for (let i = 0; i < n; i += 256) {
    const batch: Array<Promise<unknown>> = [];
    for (let j = i; j < Math.min(n, i + 256); j++) batch.push(s.put(Buffer.from(`${prefix}${j}`), Buffer.from(`value-${j}`)));
    await Promise.all(batch);
  }
}

function differing(a: Replica, b: Replica): number[] {
  const out: number[] = [];
  for (let p = 0; p < Q; p++) if (a.trees.tree(p)!.root() !== b.trees.tree(p)!.root()) out.push(p);
  return out;
}

async function exchange(a: Replica, b: Replica, p: number, mode: ExchangeMode = 'both', extra: { budget?: ByteBudget; signal?: AbortSignal; maxMessageBytes?: number } = {}) {
  return runExchange({
    partition: p,
    partitions: Q,
    segments: SEGMENTS,
    fanout: FANOUT,
    mode,
    transfer: false,
    tree: a.trees.tree(p)!,
    store: a.store,
    peer: a.peerTo(b),
    budget: extra.budget ?? new ByteBudget(Infinity),
    maxMessageBytes: extra.maxMessageBytes ?? 1024 * 1024,
    ...(extra.signal ? { signal: extra.signal } : {}),
  });
}

const values = async (s: Store, key: string) => (await s.get(Buffer.from(key))).values.map(String).sort();

describe('Merkle exchange between two replicas', () => {
  it('repairs both sides, ships only the differing keys, and keeps concurrent versions as siblings', async () => {
    const a = await cluster.open('a', { q: Q });
    const b = await cluster.open('b', { q: Q });
    await fill(a.store, 500);
    await copyAll(a.store, b.store);
    expect(differing(a, b)).toEqual([]);

    await fill(a.store, 5, 'only-a-');
    await fill(b.store, 3, 'only-b-');
    await a.store.put(Buffer.from('both'), Buffer.from('from-a'));
    await b.store.put(Buffer.from('both'), Buffer.from('from-b'));
    const diff = differing(a, b);
    expect(diff.length).toBeGreaterThan(0);

    let pushed = 0;
    let pulled = 0;
    for (const p of diff) {
      const t = await exchange(a, b, p);
      pushed += t.pushed;
      pulled += t.pulled;
    }
    expect(differing(a, b)).toEqual([]);
    // a pushed its 5 and "both"; it pulled b's 3 and b's merged "both".
    expect(pushed).toBe(6);
    expect(pulled).toBe(4);
    for (let i = 0; i < 5; i++) expect(await values(b.store, `only-a-${i}`)).toEqual([`value-${i}`]);
    for (let i = 0; i < 3; i++) expect(await values(a.store, `only-b-${i}`)).toEqual([`value-${i}`]);
    expect(await values(a.store, 'both')).toEqual(['from-a', 'from-b']);
    expect(await values(b.store, 'both')).toEqual(['from-a', 'from-b']);
    // Equal roots now: a second exchange finds nothing to do.
    const again = await exchange(a, b, diff[0]!);
    expect(again.equal).toBe(true);
  });

  it('ships one key when 1 of 100K keys differs (traffic follows the differences, not the data)', async () => {
    const a = await cluster.open('a', { q: Q });
    const b = await cluster.open('b', { q: Q });
    await fill(a.store, 100_000);
    await copyAll(a.store, b.store);
    expect(differing(a, b)).toEqual([]);
    const { context } = await a.store.get(Buffer.from('k4242'));
    await a.store.put(Buffer.from('k4242'), Buffer.from('changed'), { context });

    const ae = new AntiEntropy({
      config: { ...fastAntiEntropy, intervalMs: 0, bytesPerSec: Infinity },
      trees: a.trees,
      store: a.store,
      shared: () => new Map([['b', Array.from({ length: Q }, (_, p) => p)]]),
      peer: () => Object.assign(a.peerTo(b), {}),
    });
    const round = await ae.round();
    expect(round.peer).toBe('b');
    expect(round.repaired).toHaveLength(1);
    const s = ae.stats;
    expect(s.rootsCompared).toBe(Q);
    expect(s.rootsDiffering).toBe(1);
    // The changed key goes to b; b's merge of it equals what a sent, so nothing comes back.
    expect(s.keysPushed).toBe(1);
    expect(s.keysPulled).toBe(0);
    // Only the keys of one segment are listed (about 100K / 16 / 1024 of them).
    expect(s.keysListed).toBeLessThan(40);
    // Roots, one serialized tree (~9 KB) and one segment's listing: far below the ~4 MB of data.
    expect(s.bytesSent + s.bytesReceived).toBeLessThan(32 * 1024);
    expect(differing(a, b)).toEqual([]);
    expect(await values(b.store, 'k4242')).toEqual(['changed']);
  });

  it('pages through a large partition, and a rerun after an interruption ships only what is missing', async () => {
    const a = await cluster.open('a', { q: Q });
    const b = await cluster.open('b', { q: Q });
    await fill(b.store, 20_000);
    const p = native.partitionOf(Buffer.from('k1'), Q);
    const want = b.trees.keyCount(p);
    expect(want).toBeGreaterThan(1000);

    // Pull into the empty replica a, stopping after the second message.
    const abort = new AbortController();
    const peer = a.peerTo(b);
    let syncs = 0;
    const counting = {
      tree: peer.tree.bind(peer),
      keys: peer.keys.bind(peer),
      sync: async (req: Parameters<typeof peer.sync>[0]) => {
        const r = await peer.sync(req);
        if (++syncs === 2) abort.abort();
        return r;
      },
    };
    const first = runExchange({
      partition: p,
      partitions: Q,
      segments: SEGMENTS,
      fanout: FANOUT,
      mode: 'pull',
      transfer: true,
      tree: a.trees.tree(p)!,
      store: a.store,
      peer: counting,
      budget: new ByteBudget(Infinity),
      maxMessageBytes: 64 * 1024,
      signal: abort.signal,
    });
    await expect(first).rejects.toThrow(/stopped/);
    const partial = a.trees.keyCount(p);
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(want);

    const second = await exchange(a, b, p, 'pull', { maxMessageBytes: 64 * 1024 });
    expect(second.pulled).toBe(want - partial);
    expect(second.pushed).toBe(0);
    expect(a.trees.keyCount(p)).toBe(want);
    expect(a.trees.tree(p)!.root()).toBe(b.trees.tree(p)!.root());
  });

  it('refuses malformed requests without writing anything, and transfers the source does not forward for', async () => {
    const a = await cluster.open('a', { q: Q, mayTransfer: () => false });
    const b = await cluster.open('b', { q: Q });
    const peer = b.peerTo(a);
    const k = Buffer.from('some-key');
    const p = native.partitionOf(k, Q);
    const set = (await b.store.put(k, Buffer.from('v')))!;
    const wrongPartition = (p + 1) % Q;
    const bad = [
      peer.sync({ partitions: Q, partition: wrongPartition, push: [{ key: k, set }], pull: [] }),
      peer.sync({ partitions: 32, partition: p, push: [{ key: k, set }], pull: [] }),
      peer.sync({ partitions: Q, partition: p, push: [{ key: k, set: { clock: Buffer.from([9, 9]), siblings: [] } }], pull: [] }),
      peer.sync({ partitions: Q, partition: p, push: [{ key: Buffer.alloc(0), set }], pull: [] }),
      peer.keys({ partitions: Q, partition: p, segments: SEGMENTS, segmentBits: Buffer.alloc(3), after: Buffer.alloc(0), maxBytes: 0 }),
      peer.keys({ partitions: Q, partition: p, segments: SEGMENTS, segmentBits: Buffer.alloc(SEGMENTS / 8), after: Buffer.alloc(5), maxBytes: 0 }),
      peer.tree({ partitions: Q, partition: Q, segments: SEGMENTS, fanout: FANOUT, root: Buffer.alloc(8), transfer: false }),
      peer.tree({ partitions: Q, partition: 0, segments: 512, fanout: FANOUT, root: Buffer.alloc(8), transfer: false }),
      peer.roots({ partitions: Q, segments: SEGMENTS, fanout: FANOUT, partition: [0, 1], roots: Buffer.alloc(8) }),
    ];
    for (const r of await Promise.allSettled(bad)) {
      expect(r.status).toBe('rejected');
      expect(isBadRequest((r as PromiseRejectedResult).reason)).toBe(true);
    }
    expect(a.trees.keyCount(p)).toBe(0);
    expect((await a.store.get(k)).values).toEqual([]);
    await expect(peer.tree({ partitions: Q, partition: p, segments: SEGMENTS, fanout: FANOUT, root: Buffer.alloc(8), transfer: true })).rejects.toMatchObject({
      code: 'SHOAL_UNAVAILABLE',
    });
    // The same request outside a transfer is served.
    expect((await peer.tree({ partitions: Q, partition: p, segments: SEGMENTS, fanout: FANOUT, root: Buffer.alloc(8), transfer: false })).equal).toBe(false);
  });
});
