// A ring with fewer nodes than N: a quorum larger than a key's replicas fails at
// once with a message that says why and what to do; a quorum that fits works.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Coordinator, type ReplicaPeers } from '../../src/coordinator/index.js';
import { QuorumUnavailableError } from '../../src/errors.js';
import { PreferenceLists, createRing } from '../../src/ring/index.js';
import { Store } from '../../src/storage/index.js';
import { coordinatorOptions } from './support.js';

let dir: string | undefined;
let store: Store | undefined;

afterEach(async () => {
  await store?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('a one-node ring with N=3', () => {
  it('refuses w=2 and r=2 with a plain reason, and serves w=1 and r=1', async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-smallring-'));
    store = await Store.open({ path: join(dir, 'n1'), sweepIntervalMs: 0 });
    const placement = new PreferenceLists(createRing(64, 'n1'), 3);
    const peers = {} as ReplicaPeers; // never called: there is nobody else
    const c = new Coordinator(coordinatorOptions({ nodeId: 'n1', local: store, peers, cluster: { placement: () => placement, isReachable: () => true } }));
    const k = Buffer.from('k');
    const put = c.put(k, Buffer.from('v'));
    await expect(put).rejects.toBeInstanceOf(QuorumUnavailableError);
    await expect(put).rejects.toThrow(/w=2 needs 2 replicas, but the ring gives this key 1 .*ask for w=1/);
    await expect(c.get(k)).rejects.toThrow(/r=2 needs 2 replicas, but the ring gives this key 1/);
    expect(c.stats.quorumFailures).toBe(2);
    await c.put(k, Buffer.from('v'), { w: 1 });
    expect((await c.get(k, { r: 1 })).values.map(String)).toEqual(['v']);
  });
});
