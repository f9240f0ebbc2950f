// notFoundOk: whether a replica's "not found" counts towards R before every asked
// replica has answered. Real stores; the network replaced by direct calls, with
// the one replica that holds the key answering last.
import { afterEach, describe, expect, it } from 'vitest';
import { Coordinator, type ReplicaPeers } from '../../src/coordinator/index.js';
import { PreferenceLists, createRing, joinRing } from '../../src/ring/index.js';
import { TestStores, coordinatorOptions } from './support.js';

const IDS = ['n1', 'n2', 'n3', 'n4'];
const KEY = Buffer.from('only-on-one');
const stores = new TestStores('shoal-notfound-');

afterEach(async () => {
  await stores.closeAll();
});

/**
 * A coordinator on the key's second replica; the key is stored only on the first,
 * whose reply is held back until the other replica's reply has been delivered.
 */
async function setUp(notFoundOk: boolean) {
  let ring = createRing(64, IDS[0]!);
  for (const id of IDS.slice(1)) ring = joinRing(ring, id);
  const placement = new PreferenceLists(ring, 3);
  const [holder, coord, other] = placement.replicas(placement.partitionOf(KEY));
  await stores.open(IDS);
  await stores.get(holder!)!.put(KEY, Buffer.from('v'));
  let otherAnswered!: () => void;
  const otherDone = new Promise<void>((r) => (otherAnswered = r));
  const repairs: string[] = [];
  const peers = {
    read: async (to: string, key: Buffer) => {
      const set = await stores.get(to)!.getSet(key);
      if (to === holder) await otherDone;
      else setImmediate(otherAnswered);
      return set;
    },
    write: async (to: string, key: Buffer, set: never) => {
      repairs.push(to);
      await stores.get(to)!.merge(key, set);
    },
  } as unknown as ReplicaPeers;
  const c = new Coordinator(
    coordinatorOptions({ nodeId: coord!, local: stores.get(coord!)!, peers, cluster: { placement: () => placement, isReachable: () => true }, notFoundOk }),
  );
  return { c, holder: holder!, coord: coord!, other: other!, repairs };
}

describe('reads of a key only one replica holds', () => {
  it('notFoundOk false (the default): the absent replies wait for the last one, and the key is found', async () => {
    const { c, coord, other, repairs } = await setUp(false);
    const got = await c.get(KEY, { r: 2 });
    expect(got.values.map(String)).toEqual(['v']);
    await c.drain();
    // Read repair copied it to both replicas that missed it.
    expect(repairs).toEqual([other]); // the coordinator repairs its own copy locally
    for (const id of [coord, other]) expect((await stores.get(id)!.get(KEY)).values.map(String)).toEqual(['v']);
  });

  it('notFoundOk true: two absent replies make R=2, and the read answers "not found"', async () => {
    const { c, coord, other } = await setUp(true);
    const got = await c.get(KEY, { r: 2 });
    expect(got.values).toEqual([]);
    await c.drain();
    // Read repair still runs once the last reply is in.
    for (const id of [coord, other]) expect((await stores.get(id)!.get(KEY)).values.map(String)).toEqual(['v']);
  });

  it.each([false, true])('a key absent everywhere is "not found" (notFoundOk %s)', async (notFoundOk) => {
    const { c } = await setUp(notFoundOk);
    expect((await c.get(Buffer.from('nowhere'), { r: 2 })).values).toEqual([]);
    await c.drain();
  });
});
