// Property tests of the sibling-set semantics against a model of histories:
// random writes and deletes at random replicas, with contexts taken from earlier
// reads, and random syncs between replicas.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SiblingSetCodec } from '../../src/codec/index.js';
import type { SiblingSet } from '../../src/codec/index.js';
import { EMPTY_CONTEXT, applyWrite, encodeDot, nextCounter, reclaim, sync } from '../../src/version/index.js';

const START = 1_700_000_000_000;

type Op =
  | { t: 'write'; r: number; ctx: number; tomb: boolean; ttl: number }
  | { t: 'read'; r: number }
  | { t: 'sync'; from: number; to: number; both: boolean }
  | { t: 'tick'; ms: number };

interface Replica {
  actor: bigint;
  last: number;
  state: SiblingSet | undefined;
  /** Model: every version this replica has seen, directly or through a context. */
  seen: Set<number>;
}

interface Context {
  clock: Uint8Array;
  seen: Set<number>;
}

function opArb(replicas: number): fc.Arbitrary<Op> {
  const r = fc.nat(replicas - 1);
  return fc.oneof(
    { weight: 4, arbitrary: fc.record({ t: fc.constant('write' as const), r, ctx: fc.nat(), tomb: fc.integer({ min: 0, max: 4 }).map((x) => x === 0), ttl: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 50 })) }) },
    { weight: 3, arbitrary: fc.record({ t: fc.constant('read' as const), r }) },
    { weight: 3, arbitrary: fc.record({ t: fc.constant('sync' as const), from: r, to: r, both: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 20 }) }) },
  );
}

/** Runs a history; returns the replicas, the model's supersession relation and every state seen on the way. */
function play(ops: Op[], replicas: number, check: boolean) {
  let now = START;
  const rs: Replica[] = Array.from({ length: replicas }, (_, i) => ({
    actor: BigInt(i * 0x1_0000_0001 + 7) * (i % 2 === 0 ? 1n : 0x1_0000n), // spread over the u64 range
    last: 0,
    state: undefined,
    seen: new Set(),
  }));
  const pool: Context[] = [{ clock: EMPTY_CONTEXT, seen: new Set() }];
  const supersedes: Set<number>[] = []; // by version id
  const idOfDot = new Map<string, number>();
  const snapshots: SiblingSet[] = [];

  const expected = (seen: Set<number>) => {
    const dominated = new Set<number>();
    for (const w of seen) for (const v of supersedes[w]!) dominated.add(v);
    return [...seen].filter((v) => !dominated.has(v)).sort((a, b) => a - b);
  };
  const actual = (s: SiblingSet | undefined) =>
    (s?.siblings ?? []).map((x) => idOfDot.get(Buffer.from(x.dot).toString('hex'))!).sort((a, b) => a - b);

  for (const op of ops) {
    if (op.t === 'tick') now += op.ms;
    else if (op.t === 'read') {
      const r = rs[op.r]!;
      pool.push({ clock: r.state?.clock ?? EMPTY_CONTEXT, seen: new Set(r.seen) });
    } else if (op.t === 'write') {
      const r = rs[op.r]!;
      const ctx = pool[op.ctx % pool.length]!;
      const counter = nextCounter(r.last, now, r.actor, r.state?.clock ?? EMPTY_CONTEXT, ctx.clock);
      r.last = counter;
      const id = supersedes.length;
      supersedes.push(new Set(ctx.seen));
      r.state = applyWrite(r.state, {
        actor: r.actor,
        counter,
        context: ctx.clock,
        value: Buffer.from(`v${id}`),
        tombstone: op.tomb,
        expiresAt: op.ttl === 0 ? 0 : now + op.ttl,
        writtenAt: now,
      });
      idOfDot.set(encodeDot(r.actor, counter).toString('hex'), id);
      r.seen.add(id);
      for (const v of ctx.seen) r.seen.add(v);
    } else {
      const pairs: [Replica, Replica][] = [[rs[op.from]!, rs[op.to]!]];
      if (op.both) pairs.push([rs[op.to]!, rs[op.from]!]);
      for (const [from, to] of pairs) {
        to.state = sync(to.state, from.state);
        for (const v of from.seen) to.seen.add(v);
      }
    }
    for (const r of rs) {
      if (r.state !== undefined) snapshots.push(r.state);
      if (check) expect(actual(r.state)).toEqual(expected(r.seen));
    }
  }
  return { rs, expected, actual, snapshots, now };
}

const enc = (s: SiblingSet | undefined) => (s === undefined ? '' : Buffer.from(SiblingSetCodec.encode(s)).toString('hex'));

describe('sync and writes against the model of histories', () => {
  it('a replica holds exactly the versions it has seen that no write it has seen superseded', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 4 }).chain((n) => fc.tuple(fc.constant(n), fc.array(opArb(n), { maxLength: 80 }))), ([n, ops]) => {
        play(ops, n, true);
      }),
      { numRuns: 300 },
    );
  });

  it('replicas that sync with each other converge to one state, the model\'s', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 4 }).chain((n) => fc.tuple(fc.constant(n), fc.array(opArb(n), { maxLength: 80 }))), ([n, ops]) => {
        const { rs, expected, actual } = play(ops, n, false);
        // Everyone to replica 0, then replica 0 to everyone.
        for (const r of rs.slice(1)) rs[0]!.state = sync(rs[0]!.state, r.state);
        for (const r of rs.slice(1)) r.state = sync(r.state, rs[0]!.state);
        const all = new Set<number>();
        for (const r of rs) for (const v of r.seen) all.add(v);
        for (const r of rs) {
          expect(enc(r.state)).toBe(enc(rs[0]!.state));
          expect(actual(r.state)).toEqual(expected(all));
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('sync is the join of a semilattice (on canonical encodings)', () => {
  // States from one random history, some with expired values reclaimed, so that
  // copies of one dot differ.
  const statesArb = fc
    .integer({ min: 2, max: 4 })
    .chain((n) => fc.tuple(fc.constant(n), fc.array(opArb(n), { minLength: 1, maxLength: 60 }), fc.integer({ min: 0, max: 60 })))
    .map(([n, ops, later]) => {
      const { snapshots, now } = play(ops, n, false);
      const out: SiblingSet[] = [];
      snapshots.forEach((s, i) => out.push(i % 3 === 0 ? (reclaim(s, now + later, 1e9) ?? s) : s));
      return out;
    })
    .filter((s) => s.length > 0);
  const pick = (states: SiblingSet[], i: number) => states[i % states.length]!;

  it('idempotent: sync(a, a) = a', () => {
    fc.assert(
      fc.property(statesArb, fc.nat(), (states, i) => {
        const a = pick(states, i);
        expect(enc(sync(a, a))).toBe(enc(a));
        expect(enc(sync(a, { clock: a.clock, siblings: a.siblings.map((x) => ({ ...x })) }))).toBe(enc(a));
      }),
      { numRuns: 300 },
    );
  });

  it('commutative: sync(a, b) = sync(b, a)', () => {
    fc.assert(
      fc.property(statesArb, fc.nat(), fc.nat(), (states, i, j) => {
        const a = pick(states, i);
        const b = pick(states, j);
        expect(enc(sync(a, b))).toBe(enc(sync(b, a)));
      }),
      { numRuns: 300 },
    );
  });

  it('associative: sync(sync(a, b), c) = sync(a, sync(b, c))', () => {
    fc.assert(
      fc.property(statesArb, fc.nat(), fc.nat(), fc.nat(), (states, i, j, k) => {
        const [a, b, c] = [pick(states, i), pick(states, j), pick(states, k)];
        expect(enc(sync(sync(a, b), c))).toBe(enc(sync(a, sync(b, c))));
      }),
      { numRuns: 300 },
    );
  });

  it('absorbs undefined: sync(a, undefined) = sync(undefined, a) = a', () => {
    fc.assert(
      fc.property(statesArb, fc.nat(), (states, i) => {
        const a = pick(states, i);
        expect(sync(a, undefined)).toBe(a);
        expect(sync(undefined, a)).toBe(a);
      }),
      { numRuns: 50 },
    );
  });
});
