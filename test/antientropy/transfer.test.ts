// The receiving side of an ownership transfer, against real replicas over RPC: a
// source the ring change has not reached yet refuses every partition, and must not
// be asked for each of them in every pass, nor be left alone for a whole long pass.
import { afterEach, describe, expect, it } from 'vitest';
import { SOURCE_FAILURES_PER_PASS } from '../../src/antientropy/transfer.js';
import { PartitionTrees, TransferReceiver, fastAntiEntropy } from '../../src/antientropy/index.js';
import type { Store } from '../../src/storage/index.js';
import { FANOUT, SEGMENTS, replicas, waitFor } from './support.js';

const cluster = replicas();
const Q = 32;
const receivers: TransferReceiver[] = [];
afterEach(async () => {
  for (const t of receivers.splice(0)) await t.stop();
});

async function setUp(o: {
  aReady: () => boolean;
  stewardIntervalMs: number;
  transferBytesPerSec?: number;
  /** The receiver's trees (default: r's own, built). */
  trees?: (store: Store) => PartitionTrees;
}) {
  const r = await cluster.open('r', { q: Q });
  const a = await cluster.open('a', { q: Q, mayTransfer: o.aReady });
  const b = await cluster.open('b', { q: Q });
  const keys = Array.from({ length: 200 }, (_, i) => Buffer.from(`k${i}`));
  for (const k of keys) await b.store.put(k, Buffer.from('from b'));
  const peers = { a: r.peerTo(a), b: r.peerTo(b) };
  const partitions = Array.from({ length: Q }, (_, p) => p);
  let saved: Uint8Array | undefined;
  const done: string[] = [];
  const t = new TransferReceiver({
    nodeId: 'r',
    config: {
      ...fastAntiEntropy,
      segments: SEGMENTS,
      fanout: FANOUT,
      stewardIntervalMs: o.stewardIntervalMs,
      ...(o.transferBytesPerSec !== undefined ? { transferBytesPerSec: o.transferBytesPerSec } : {}),
    },
    trees: o.trees?.(r.store) ?? r.trees,
    store: r.store,
    plan: () => ({ id: 'change-1', gains: new Map(partitions.map((p) => [p, ['a', 'b']])) }),
    peer: (id) => peers[id as 'a' | 'b'],
    isGone: () => false,
    progress: { load: async () => saved, save: async (bytes) => void (saved = bytes) },
    onDone: (id) => done.push(id),
  });
  receivers.push(t);
  return { r, a, b, keys, t, done };
}

describe('transfer receiver', () => {
  it('leaves a source that keeps refusing alone for a while instead of asking it for every partition, and completes once it accepts', async () => {
    let aReady = false;
    // A long steward period: a pass that completes no partition waits 2 minutes, unless kicked.
    const { r, a, b, keys, t, done } = await setUp({ aReady: () => aReady, stewardIntervalMs: 60_000 });
    await t.start();

    // The first pass pulls every partition from b; a refuses (not yet forwarding).
    await waitFor(() => t.stats.exchanges === Q, 'every partition pulled from b');
    for (const k of keys) expect((await r.store.get(k)).values.map(String)).toEqual(['from b']);
    expect(t.stats.partitionsDone).toBe(0);
    expect(a.responder.stats.requests).toBe(SOURCE_FAILURES_PER_PASS);
    expect(t.stats.retries).toBe(SOURCE_FAILURES_PER_PASS);

    // Once a accepts, the next pass asks it for every partition again and the change completes.
    aReady = true;
    t.kick();
    await waitFor(() => done.length === 1, 'the transfer to complete');
    expect(done).toEqual(['change-1']);
    expect(t.stats).toMatchObject({ state: 'done', partitionsDone: Q, exchanges: 2 * Q });
    expect(b.responder.stats.requests).toBeGreaterThanOrEqual(Q);
  });

  it('asks a source that kept refusing again after the retry period, within a pass that the budget makes long', async () => {
    // 200 ms between passes and before a refusing source is asked again; b's partitions take seconds at 128 KiB/s.
    const { a, t } = await setUp({ aReady: () => false, stewardIntervalMs: 100, transferBytesPerSec: 128 * 1024 });
    await t.start();
    // The first pass ends when b has served every partition (a never does).
    await waitFor(() => t.stats.exchanges === Q, 'every partition pulled from b');
    expect(t.stats.partitionsDone).toBe(0);
    expect(a.responder.stats.requests).toBeGreaterThan(SOURCE_FAILURES_PER_PASS);
  });

  it('a pass that found trees still being built goes on once they are built, not after the retry period', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let trees: PartitionTrees | undefined;
    // A 2-minute pause between passes that complete nothing: only the trees' completion can end it in time.
    const { t, done } = await setUp({
      aReady: () => true,
      stewardIntervalMs: 60_000,
      trees: (store) => {
        trees = new PartitionTrees({ segments: SEGMENTS, fanout: FANOUT, rebuildIntervalMs: 0, source: async (p, q) => (await gate, store.partitionDigests(p, q)) });
        trees.hold(Array.from({ length: Q }, (_, p) => p), Q);
        return trees;
      },
    });
    try {
      await t.start();
      // The first pass finds no tree built and completes nothing.
      await waitFor(() => t.stats.state === 'receiving', 'the first pass');
      expect(t.stats.exchanges).toBe(0);
      release();
      await waitFor(() => done.length === 1, 'the transfer to complete');
      expect(t.stats.partitionsDone).toBe(Q);
    } finally {
      await t.stop();
      await trees?.stop();
    }
  });
});
