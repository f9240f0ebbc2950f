// Read fan-out "quorum": a get asks R replicas, and another only when one fails,
// misses the key or is slow. Real stores; the network replaced by direct calls
// whose replies a test can fail or hold back. Only the speculation timer is faked.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SiblingSet } from '../../src/codec/index.js';
import { Coordinator, type CoordinatorOptions, type ReadResult, type ReplicaPeers, type SpeculativeRetry } from '../../src/coordinator/index.js';
import { UnavailableError } from '../../src/errors.js';
import { PreferenceLists, createRing, joinRing } from '../../src/ring/index.js';
import { TestStores, coordinatorOptions } from './support.js';

const IDS = ['n1', 'n2', 'n3', 'n4'];
const KEY = Buffer.from('session:42');
const stores = new TestStores('shoal-fanout-');

afterEach(async () => {
  vi.useRealTimers();
  await stores.closeAll();
});

/** How a node answers replica reads: at once, with an error, or when the test releases it. */
type Mode = 'ok' | 'fail' | 'hold';

/** A coordinator on the key's first replica (where the SDK sends), as the ring places KEY on 4 nodes with N=3. */
async function setUp(o: Partial<CoordinatorOptions> = {}) {
  let ring = createRing(64, IDS[0]!);
  for (const id of IDS.slice(1)) ring = joinRing(ring, id);
  const placement = new PreferenceLists(ring, 3);
  const [first, second, third] = placement.replicas(placement.partitionOf(KEY)) as [string, string, string];
  const fallback = IDS.find((id) => ![first, second, third].includes(id))!;
  await stores.open(IDS);
  const modes = new Map<string, Mode>();
  const reads: string[] = [];
  const repairs: string[] = [];
  const held: Array<() => void> = [];
  let onHold: (() => void) | undefined;
  /** Resolves when a read is held back (waited on directly: vi.waitFor would move the fake clock). */
  const holding = () => new Promise<void>((resolve) => (onHold = resolve));
  const peers = {
    read: async (to: string, key: Buffer) => {
      reads.push(to);
      const mode = modes.get(to) ?? 'ok';
      if (mode === 'fail') throw new UnavailableError(`${to} does not answer`);
      if (mode === 'hold') {
        await new Promise<void>((resolve) => {
          held.push(resolve);
          onHold?.();
        });
      }
      return stores.get(to)!.getSet(key);
    },
    write: async (to: string, key: Buffer, set: SiblingSet) => {
      repairs.push(to);
      await stores.get(to)!.merge(key, set);
    },
  } as unknown as ReplicaPeers;
  const c = new Coordinator(
    coordinatorOptions({
      nodeId: first,
      local: stores.get(first)!,
      peers,
      cluster: { placement: () => placement, isReachable: () => true },
      readFanout: 'quorum',
      ...o,
    }),
  );
  const release = () => {
    for (const r of held.splice(0)) r();
  };
  /** Starts a get while `second` holds its reply back; resolves (with the get) once that read is held. */
  const getWithSecondSlow = async (): Promise<{ got: Promise<ReadResult> }> => {
    modes.set(second, 'hold');
    const hold = holding();
    const got = c.get(KEY);
    await hold;
    return { got };
  };
  return { c, first, second, third, fallback, modes, reads, repairs, release, getWithSecondSlow };
}

/** Fake speculation timers, a coordinator with this speculativeRetry, and KEY on all three replicas. */
async function speculating(speculativeRetry: SpeculativeRetry) {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  const h = await setUp({ speculativeRetry });
  await storeOn([h.first, h.second, h.third]);
  return h;
}

async function storeOn(ids: string[], value = 'v'): Promise<void> {
  const set = await stores.get(ids[0]!)!.put(KEY, Buffer.from(value));
  for (const id of ids.slice(1)) await stores.get(id)!.merge(KEY, set);
}

async function valuesOn(id: string): Promise<string[]> {
  return (await stores.get(id)!.get(KEY)).values.map(String);
}

describe('read fan-out "quorum"', () => {
  it('asks R replicas, this node and the next one, and not the third', async () => {
    const { c, first, second, third, reads } = await setUp();
    await storeOn([first, second, third]);
    expect((await c.get(KEY)).values.map(String)).toEqual(['v']);
    await c.drain();
    expect(reads).toEqual([second]); // its own copy is read locally
    expect(reads).not.toContain(third);
    // r=3 asks all three.
    reads.length = 0;
    expect((await c.get(KEY, { r: 3 })).values.map(String)).toEqual(['v']);
    expect(reads.sort()).toEqual([second, third].sort());
    await c.drain();
  });

  it('merges what the asked replicas hold and repairs the stale one among them', async () => {
    const { c, first, second, third, repairs } = await setUp();
    await storeOn([first, second, third], 'old');
    const newer = await stores.get(first)!.put(KEY, Buffer.from('new'), { context: (await stores.get(first)!.get(KEY)).context });
    expect(newer.siblings).toHaveLength(1);
    expect((await c.get(KEY)).values.map(String)).toEqual(['new']);
    await c.drain();
    expect(repairs).toEqual([second]);
    expect(await valuesOn(second)).toEqual(['new']);
    expect(await valuesOn(third)).toEqual(['old']); // not asked, so not repaired: anti-entropy's job
  });

  it('notFoundOk false: "not found" from both asked replicas asks the third, which has the key', async () => {
    const { c, first, second, third, reads } = await setUp();
    await storeOn([third]);
    expect((await c.get(KEY)).values.map(String)).toEqual(['v']);
    await c.drain();
    expect(reads.sort()).toEqual([second, third].sort());
    for (const id of [first, second]) expect(await valuesOn(id)).toEqual(['v']);
  });

  it('notFoundOk true: two "not found" replies make R=2, and the third is not asked', async () => {
    const { c, third, reads } = await setUp({ notFoundOk: true });
    await storeOn([third]);
    expect((await c.get(KEY)).values).toEqual([]);
    await c.drain();
    expect(reads).not.toContain(third);
  });

  it('a key absent everywhere is "not found" after asking all three', async () => {
    const { c, second, third, reads } = await setUp();
    expect((await c.get(KEY)).values).toEqual([]);
    await c.drain();
    expect(reads.sort()).toEqual([second, third].sort());
  });

  it('an asked replica that fails is replaced by the third replica before any fallback node', async () => {
    const { c, first, second, third, fallback, modes, reads } = await setUp();
    await storeOn([first, second, third]);
    modes.set(second, 'fail');
    expect((await c.get(KEY)).values.map(String)).toEqual(['v']);
    await c.drain();
    expect(reads).toEqual([second, third]);
    expect(reads).not.toContain(fallback);
    expect(c.stats.speculativeReads).toBe(0);
  });

  it('when the third replica fails too, a fallback node is asked, and its "not found" completes R', async () => {
    const { c, first, second, third, fallback, modes, reads } = await setUp();
    await storeOn([first, second, third]);
    modes.set(second, 'fail');
    modes.set(third, 'fail');
    // The fallback holds nothing for KEY: with notFoundOk false its "not found"
    // counts once every ask has settled, so R=2 is met by this node and it.
    expect((await c.get(KEY)).values.map(String)).toEqual(['v']);
    await c.drain();
    expect(reads).toEqual([second, third, fallback]);
  });

  it('a fixed speculative retry asks the third replica when one is slow, and answers without it', async () => {
    const { c, second, third, reads, release, getWithSecondSlow } = await speculating({ kind: 'fixed', ms: 20 });
    const { got } = await getWithSecondSlow();
    expect(reads).toEqual([second]);
    await vi.advanceTimersByTimeAsync(19);
    expect(reads).toEqual([second]); // not before the delay
    await vi.advanceTimersByTimeAsync(1);
    expect((await got).values.map(String)).toEqual(['v']);
    expect(reads).toEqual([second, third]);
    expect(c.stats.speculativeReads).toBe(1);
    release();
    await c.drain();
  });

  it('speculative retry "none": a slow replica is waited for, and the third is never asked', async () => {
    const { c, second, reads, release, getWithSecondSlow } = await speculating({ kind: 'none' });
    const { got } = await getWithSecondSlow();
    let answered = false;
    void got.then(() => (answered = true));
    await vi.advanceTimersByTimeAsync(900); // most of the replica timeout (1 s), far past any speculation
    expect(answered).toBe(false);
    expect(reads).toEqual([second]);
    release();
    expect((await got).values.map(String)).toEqual(['v']);
    expect(reads).toEqual([second]);
    expect(c.stats.speculativeReads).toBe(0);
    await c.drain();
  });

  it('speculation by percentile starts once enough replica reads have been timed', async () => {
    const { c, second, third, modes, reads, release, getWithSecondSlow } = await speculating({ kind: 'percentile', p: 99 });
    // No timings yet: a slow replica is waited for.
    let { got } = await getWithSecondSlow();
    await vi.advanceTimersByTimeAsync(500);
    expect(reads).toEqual([second]);
    release();
    await got;
    // 64 quick reads later, the 99th percentile of them (well under 500 ms of
    // test time) sets the delay, and a slow replica is overtaken.
    modes.delete(second);
    for (let i = 0; i < 64; i++) await c.get(KEY);
    await c.drain();
    reads.length = 0;
    ({ got } = await getWithSecondSlow());
    await vi.advanceTimersByTimeAsync(500);
    expect((await got).values.map(String)).toEqual(['v']);
    expect(reads).toEqual([second, third]);
    expect(c.stats.speculativeReads).toBe(1);
    release();
    await c.drain();
  });
});
