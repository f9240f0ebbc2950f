// The forwarding wrapper of the local replica, on its own (a fake store and
// sender): a committed version reaches the change's other side before the write
// is acknowledged; an unreachable target gets a hint.
import { describe, expect, it } from 'vitest';
import { ForwardingReplica, type ReplicaStore } from '../../src/antientropy/index.js';
import type { SiblingSet } from '../../src/codec/index.js';

const set = (tag: number): SiblingSet => ({ clock: Buffer.from([1, 0]), siblings: [{ dot: Buffer.alloc(16, tag), value: Buffer.from('v'), tombstone: false, expiresAt: 0, writtenAt: 0 }] });

function fakeStore() {
  const hints: Array<[string, string]> = [];
  const store: ReplicaStore = {
    put: async () => set(1),
    delete: async () => set(2),
    merge: async (key) => (key.toString() === 'gone' ? undefined : set(3)),
    mergeAdopting: async (key) => (key.toString() === 'gone' ? undefined : set(3)),
    getSet: async () => undefined,
    touch: async () => set(4),
    putHint: async (owner, key) => {
      hints.push([owner, key.toString()]);
    },
    getHint: async () => undefined,
  };
  return { store, hints };
}

describe('forwarding replica', () => {
  it('forwards every committed version to the targets before resolving, and hints a target that fails', async () => {
    const { store, hints } = fakeStore();
    const sent: string[] = [];
    let targets: string[] = [];
    const f = new ForwardingReplica(store, {
      targets: () => targets,
      send: async (id, key, s) => {
        if (id === 'down') throw new Error('unreachable');
        sent.push(`${id}:${key.toString()}:${s.siblings[0]!.dot[0]}`);
      },
    });
    await f.put(Buffer.from('k'), Buffer.from('v'), {});
    expect(sent).toEqual([]);
    targets = ['x', 'down'];
    await f.put(Buffer.from('k'), Buffer.from('v'), {});
    await f.delete(Buffer.from('d'), {});
    await f.merge(Buffer.from('m'), set(9));
    await f.merge(Buffer.from('gone'), set(9)); // nothing left to forward
    expect(sent).toEqual(['x:k:1', 'x:d:2', 'x:m:3']);
    expect(hints).toEqual([
      ['down', 'k'],
      ['down', 'd'],
      ['down', 'm'],
    ]);
    expect(f.stats).toEqual({ forwarded: 3, hinted: 3 });
  });

  it('tells targets() the ring each write was placed by: put, delete and merge pass theirs on, a merge without one passes undefined', async () => {
    const { store } = fakeStore();
    const asked: Array<string | undefined> = [];
    const f = new ForwardingReplica(store, {
      targets: (_key, ringId) => {
        asked.push(ringId && Buffer.from(ringId).toString('hex'));
        return [];
      },
      send: async () => {},
    });
    const id = (n: number) => Buffer.alloc(8, n);
    await f.put(Buffer.from('k'), Buffer.from('v'), { ringId: id(7) });
    await f.delete(Buffer.from('d'), { ringId: id(8) });
    await f.merge(Buffer.from('m'), set(9), id(9));
    await f.merge(Buffer.from('m'), set(9));
    await f.put(Buffer.from('k'), Buffer.from('v'), {});
    expect(asked).toEqual(['0707070707070707', '0808080808080808', '0909090909090909', undefined, undefined]);
  });
});
