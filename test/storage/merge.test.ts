// merge() through real stores: replicas exchanging states converge, and the
// sync laws hold for the states as stored.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SiblingSetCodec } from '../../src/codec/index.js';
import type { SiblingSet } from '../../src/codec/index.js';
import { b, tempStores, texts } from './support.js';

const enc = (s: SiblingSet | undefined) => (s === undefined ? '' : Buffer.from(SiblingSetCodec.encode(s)).toString('hex'));

describe('store: merge', () => {
  const stores = tempStores();

  it('merging the same state twice changes nothing and writes nothing', async () => {
    const a = await stores.open();
    const c = await stores.open();
    const set = await a.put(b('k'), b('v'));
    await c.merge(b('k'), set);
    const batches = c.stats.batches;
    const again = await c.merge(b('k'), set);
    expect(enc(again)).toBe(enc(await c.getSet(b('k'))));
    expect(c.stats.batches).toBe(batches);
  });

  it('concurrent writes at two replicas become siblings after a merge, and a write over both resolves them everywhere', async () => {
    const a = await stores.open();
    const c = await stores.open();
    await a.put(b('k'), b('at-a'));
    await c.put(b('k'), b('at-c'));
    await a.merge(b('k'), (await c.getSet(b('k')))!);
    expect(texts((await a.get(b('k'))).values)).toEqual(['at-a', 'at-c']);
    const resolved = await a.put(b('k'), b('resolved'), { context: (await a.get(b('k'))).context });
    await c.merge(b('k'), resolved);
    expect(texts((await c.get(b('k'))).values)).toEqual(['resolved']);
  });

  it('replicas converge whatever the order of random writes and merges (fast-check)', async () => {
    const a = await stores.open();
    const c = await stores.open();
    const d = await stores.open();
    const replicas = [a, c, d];
    let key = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.record({ t: fc.constant('put' as const), r: fc.nat(2), withCtx: fc.boolean(), del: fc.boolean() }),
            fc.record({ t: fc.constant('merge' as const), from: fc.nat(2), to: fc.nat(2) }),
          ),
          { maxLength: 25 },
        ),
        fc.array(fc.tuple(fc.nat(2), fc.nat(2)), { minLength: 6, maxLength: 6 }),
        async (ops, finalOrder) => {
          const k = b(`key-${key++}`);
          const written: string[] = [];
          for (const [i, op] of ops.entries()) {
            if (op.t === 'put') {
              const s = replicas[op.r]!;
              const context = op.withCtx ? (await s.get(k)).context : undefined;
              if (op.del) await s.delete(k, { context });
              else {
                await s.put(k, b(`v${i}`), { context });
                written.push(`v${i}`);
              }
            } else {
              const from = await replicas[op.from]!.getSet(k);
              if (from !== undefined) await replicas[op.to]!.merge(k, from);
            }
          }
          // Exchange everything in a random order, then a full round: all converge.
          for (const [x, y] of finalOrder) {
            const s = await replicas[x]!.getSet(k);
            if (s !== undefined) await replicas[y]!.merge(k, s);
          }
          for (let round = 0; round < 2; round++) {
            for (const x of replicas) {
              const s = await x.getSet(k);
              if (s === undefined) continue;
              for (const y of replicas) await y.merge(k, s);
            }
          }
          const states = await Promise.all(replicas.map((r) => r.getSet(k)));
          expect(enc(states[1])).toBe(enc(states[0]));
          expect(enc(states[2])).toBe(enc(states[0]));
          // Everything live is something that was written.
          for (const v of (await a.get(k)).values) expect(written).toContain(v.toString());
        },
      ),
      { numRuns: 40 },
    );
  });

  it('a merge that leaves no sibling stores nothing', async () => {
    const a = await stores.open();
    expect(await a.merge(b('k'), { clock: Buffer.from([1, 0]), siblings: [] })).toBeUndefined();
    expect(await a.getSet(b('k'))).toBeUndefined();
    const set = await a.put(b('k'), b('v'));
    // Another replica reclaimed this version after its grace period: its clock covers the dot, it holds no sibling.
    expect(await a.merge(b('k'), { clock: set.clock, siblings: [] })).toBeUndefined();
    expect(await a.getSet(b('k'))).toBeUndefined();
  });

  it('merge is commutative and associative on stored states', async () => {
    const [x, y, z] = await Promise.all([stores.open(), stores.open(), stores.open()]);
    const k = b('k');
    const sx = await x.put(k, b('x'));
    await y.merge(k, sx);
    const sy = await y.put(k, b('y'), { context: sx.clock });
    const sz = await z.put(k, b('z'));
    const orders = [
      [sx, sy, sz],
      [sz, sy, sx],
      [sy, sx, sz],
    ];
    const results: string[] = [];
    for (const order of orders) {
      const r = await stores.open();
      for (const s of order) await r.merge(k, s);
      results.push(enc(await r.getSet(k)));
    }
    expect(new Set(results).size).toBe(1);
    const r = await stores.open();
    for (const s of orders[0]!) await r.merge(k, s);
    expect(texts((await r.get(k)).values)).toEqual(['y', 'z']);
  });
});
