import { describe, expect, it } from 'vitest';
import { RingKeeper, decodeRing, encodeRing, createRing, joinRing, type Ring } from '../../src/ring/index.js';

function memory() {
  let saved: Uint8Array | undefined;
  return {
    load: async () => saved,
    save: async (b: Uint8Array) => {
      saved = b;
    },
    get saved() {
      return saved;
    },
  };
}

/** Keepers that publish to each other through an in-memory queue we drain by hand. */
function cluster(ids: string[], founder: string) {
  const queue: Array<{ to: string; bytes: Uint8Array }> = [];
  const keepers = new Map<string, RingKeeper>();
  for (const id of ids) {
    keepers.set(
      id,
      new RingKeeper({
        nodeId: id,
        partitions: 64,
        persistence: memory(),
        capacityOf: () => 1,
        canFound: id === founder,
        publish: (bytes) => {
          for (const other of ids) if (other !== id) queue.push({ to: other, bytes });
        },
      }),
    );
  }
  const drain = async () => {
    while (queue.length > 0) {
      const m = queue.shift()!;
      await keepers.get(m.to)!.offer(m.bytes);
    }
  };
  return { keepers, drain, queue };
}

describe('RingKeeper', () => {
  it('a founder creates the ring; a node without one waits', async () => {
    const p = memory();
    const founder = new RingKeeper({ nodeId: 'a', partitions: 64, persistence: p, capacityOf: () => 1, canFound: true, publish: () => {} });
    await founder.open();
    expect(founder.ring?.nodes).toEqual(['a']);
    expect(decodeRing(p.saved!)).toEqual(founder.ring);
    const waiter = new RingKeeper({ nodeId: 'b', partitions: 64, persistence: memory(), capacityOf: () => 1, canFound: false, publish: () => {} });
    await waiter.open();
    expect(waiter.ring).toBeUndefined();
  });

  it('reloads the persisted ring instead of founding a new one', async () => {
    const p = memory();
    await p.save(encodeRing(joinRing(createRing(64, 'a'), 'b')));
    const k = new RingKeeper({ nodeId: 'a', partitions: 64, persistence: p, capacityOf: () => 1, canFound: true, publish: () => {} });
    await k.open();
    expect(k.ring?.version).toBe(2);
    expect(k.ring?.nodes).toEqual(['a', 'b']);
  });

  it('nodes that learn the ring join it, concurrent joins converge to one ring holding everyone', async () => {
    const ids = ['n1', 'n2', 'n3', 'n4', 'n5'];
    const { keepers, drain, queue } = cluster(ids, 'n1');
    for (const k of keepers.values()) await k.open();
    // n2..n5 learn ring v1 at the same time, each joins on top of it concurrently.
    const v1 = keepers.get('n1')!.encoded!;
    queue.length = 0;
    await Promise.all(ids.slice(1).map((id) => keepers.get(id)!.offer(v1)));
    await drain();
    // Everyone holds the same ring, and it has every node.
    const rings: Ring[] = ids.map((id) => keepers.get(id)!.ring!);
    for (const r of rings) expect(r).toEqual(rings[0]);
    expect(rings[0]!.nodes).toEqual(ids);
  });

  it('ignores older, equal and malformed rings and rings of another size', async () => {
    const { keepers } = cluster(['a'], 'a');
    const k = keepers.get('a')!;
    await k.open();
    const newer = joinRing(k.ring!, 'b');
    expect(await k.offer(encodeRing(newer))).toBe(true);
    expect(await k.offer(encodeRing(createRing(64, 'zzz')))).toBe(false);
    expect(await k.offer(encodeRing(newer))).toBe(false);
    expect(await k.offer(Buffer.from([0xff, 0xff, 0xff]))).toBe(false);
    expect(await k.offer(encodeRing(joinRing(createRing(128, 'a'), 'c')))).toBe(false);
    expect(k.rejected).toBe(2);
    expect(k.ring).toEqual(newer);
  });

  it('remove takes a node out and publishes the change', async () => {
    const sent: Ring[] = [];
    const k = new RingKeeper({
      nodeId: 'a',
      partitions: 64,
      persistence: memory(),
      capacityOf: () => 1,
      canFound: true,
      publish: (b) => sent.push(decodeRing(b)),
    });
    await k.open();
    await k.offer(encodeRing(joinRing(joinRing(k.ring!, 'b'), 'c')));
    const after = await k.remove('b');
    expect(after.nodes).toEqual(['a', 'c']);
    expect(sent.at(-1)).toEqual(after);
  });
});
