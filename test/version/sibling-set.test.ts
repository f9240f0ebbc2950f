import { describe, expect, it } from 'vitest';
import type { SiblingSet } from '../../src/codec/index.js';
import { BadContextError, BadRequestError, TooLargeError } from '../../src/errors.js';
import { native } from '../../src/native.js';
import { refVvDecode, refVvEncode } from '../../src/reference/index.js';
import {
  EMPTY_CONTEXT,
  applyWrite,
  checkSiblingSet,
  digest,
  dotActor,
  dotCounter,
  encodeDot,
  liveValues,
  nextCounter,
  parseContext,
  pruneClock,
  reclaim,
  reclaimAt,
  sync,
} from '../../src/version/index.js';
import type { Write } from '../../src/version/index.js';

const NOW = 1_700_000_000_000;
const A = 0x1111n;
const B = 0x2222n;

/** A coordinator: issues counters by the house rule. */
function coordinator(actor: bigint) {
  let last = 0;
  return (current: SiblingSet | undefined, value: string | null, context: Uint8Array = EMPTY_CONTEXT, extra: Partial<Write> = {}) => {
    const counter = nextCounter(last, NOW, actor, current?.clock ?? EMPTY_CONTEXT, context);
    last = counter;
    return applyWrite(current, {
      actor,
      counter,
      context,
      value: Buffer.from(value ?? ''),
      tombstone: value === null,
      expiresAt: 0,
      writtenAt: NOW,
      ...extra,
    });
  };
}

const text = (set: SiblingSet | undefined) => liveValues(set, NOW).map((v) => v.toString());

describe('sibling sets: the versioning scenarios', () => {
  it('two blind writes become two siblings', () => {
    const put = coordinator(A);
    let s = put(undefined, 'one');
    s = put(s, 'two');
    expect(text(s).sort()).toEqual(['one', 'two']);
    expect(s.siblings).toHaveLength(2);
  });

  it('a write with the context of both siblings replaces them', () => {
    const put = coordinator(A);
    let s = put(put(undefined, 'one'), 'two');
    s = put(s, 'merged', s.clock);
    expect(text(s)).toEqual(['merged']);
  });

  it('a stale context makes a sibling, not an overwrite', () => {
    const put = coordinator(A);
    const s1 = put(undefined, 'one');
    const stale = s1.clock;
    const s2 = put(s1, 'two', s1.clock); // replaces one
    const s3 = put(s2, 'three', stale); // saw only "one": concurrent with "two"
    expect(text(s2)).toEqual(['two']);
    expect(text(s3).sort()).toEqual(['three', 'two']);
  });

  it('a delete with a context leaves nothing to read', () => {
    const put = coordinator(A);
    const s1 = put(put(undefined, 'one'), 'two');
    const s2 = put(s1, null, s1.clock);
    expect(text(s2)).toEqual([]);
    expect(s2.siblings).toHaveLength(1);
    expect(s2.siblings[0]!.tombstone).toBe(true);
  });

  it('a delete that missed a concurrent write leaves that write as a sibling', () => {
    const put = coordinator(A);
    const s1 = put(undefined, 'one');
    const ctx = s1.clock;
    const s2 = put(s1, 'concurrent'); // a blind write the deleter did not see
    const s3 = put(s2, null, ctx);
    expect(text(s3)).toEqual(['concurrent']);
  });

  it('the same scenarios hold across two coordinators and a sync', () => {
    const putA = coordinator(A);
    const putB = coordinator(B);
    const a = putA(undefined, 'at-a');
    const b = putB(undefined, 'at-b');
    const both = sync(a, b)!;
    expect(text(both).sort()).toEqual(['at-a', 'at-b']);
    const resolved = putB(b, 'resolved', both.clock); // written at B with A's version unseen by B's state
    expect(text(sync(both, resolved))).toEqual(['resolved']);
    expect(text(sync(a, resolved))).toEqual(['resolved']);
  });
});

describe('applyWrite', () => {
  it('keeps siblings sorted by dot bytes and every dot covered by the clock', () => {
    const puts = [coordinator(0xffn), coordinator(0x01n), coordinator(0x100n)];
    let s: SiblingSet | undefined;
    for (let i = 0; i < 9; i++) s = puts[i % 3]!(s, `v${i}`);
    const dots = s!.siblings.map((x) => Buffer.from(x.dot));
    expect(dots).toEqual([...dots].sort(Buffer.compare));
    expect([...native.dotsCoveredBy(s!.clock, Buffer.concat(dots))].every((f) => f === 1)).toBe(true);
  });

  it('does not mutate its input', () => {
    const put = coordinator(A);
    const s1 = put(put(undefined, 'one'), 'two');
    const before = JSON.stringify(s1);
    put(s1, 'three', s1.clock);
    expect(JSON.stringify(s1)).toBe(before);
  });

  it('rejects a counter the clock already covers', () => {
    const s = coordinator(A)(undefined, 'x');
    const counter = dotCounter(s.siblings[0]!.dot);
    const w = { actor: A, counter, context: EMPTY_CONTEXT, value: Buffer.from('y'), tombstone: false, expiresAt: 0, writtenAt: NOW };
    expect(() => applyWrite(s, w)).toThrow(RangeError);
  });

  it('prunes the clock past the bound, oldest first, but keeps entries of live siblings', () => {
    // 40 actors wrote in turn; each write saw everything before it except "first".
    let s: SiblingSet | undefined;
    const first = coordinator(1000n)(undefined, 'first');
    s = first;
    for (let i = 0; i < 40; i++) {
      const actor = BigInt(i + 1);
      const w: Write = {
        actor,
        counter: NOW * 1000 + 10 + i,
        context: refVvEncode(refVvDecode(s.clock).filter(([a]) => a !== 1000n)),
        value: Buffer.from(`v${i}`),
        tombstone: false,
        expiresAt: 0,
        writtenAt: NOW,
      };
      s = applyWrite(s, w, 8);
    }
    const entries = refVvDecode(s.clock);
    // "first" (actor 1000, oldest counter) survives as a sibling, so its entry stays.
    expect(text(s).sort()).toEqual(['first', 'v39']);
    expect(entries.length).toBe(9);
    expect(entries.map(([a]) => a)).toContain(1000n);
    expect(entries.map(([a]) => a)).toContain(40n);
  });

  it('pruneClock leaves a small clock alone', () => {
    const s = coordinator(A)(undefined, 'x');
    expect(pruneClock(s.clock, s.siblings, 32)).toBe(s.clock);
  });
});

describe('dots and counters', () => {
  it('encodes dots as actor LE then counter LE', () => {
    const d = encodeDot(0x0102030405060708n, 2 ** 40 + 5);
    expect(d.toString('hex')).toBe('0807060504030201' + '0500000000010000');
    expect(dotActor(d)).toBe(0x0102030405060708n);
    expect(dotCounter(d)).toBe(2 ** 40 + 5);
    expect(() => encodeDot(1n, 0)).toThrow(RangeError);
    expect(() => encodeDot(1n, 2 ** 53)).toThrow(RangeError);
  });

  it('nextCounter takes the max of the four bounds', () => {
    const clock = refVvEncode([[A, NOW * 1000 + 50]]);
    const ctx = refVvEncode([[A, NOW * 1000 + 70]]);
    expect(nextCounter(0, NOW, A, EMPTY_CONTEXT, EMPTY_CONTEXT)).toBe(NOW * 1000);
    expect(nextCounter(NOW * 1000 + 5, NOW, A, EMPTY_CONTEXT, EMPTY_CONTEXT)).toBe(NOW * 1000 + 6);
    expect(nextCounter(0, NOW, A, clock, EMPTY_CONTEXT)).toBe(NOW * 1000 + 51);
    expect(nextCounter(0, NOW, A, clock, ctx)).toBe(NOW * 1000 + 71);
    expect(nextCounter(0, NOW, B, clock, ctx)).toBe(NOW * 1000);
    expect(() => nextCounter(2 ** 53 - 1, NOW, A, EMPTY_CONTEXT, EMPTY_CONTEXT)).toThrow(RangeError);
  });
});

describe('contexts', () => {
  it('accepts absent and empty contexts as the empty vector', () => {
    expect(parseContext(undefined)).toBe(EMPTY_CONTEXT);
    expect(parseContext(null)).toBe(EMPTY_CONTEXT);
    expect(parseContext(new Uint8Array(0))).toBe(EMPTY_CONTEXT);
    expect(EMPTY_CONTEXT.toString('hex')).toBe('0100');
  });

  it('rejects malformed contexts with BadContextError and non-bytes with BadRequestError', () => {
    for (const bad of [Buffer.from([2, 0]), Buffer.from([1, 1]), Buffer.from([1, 0, 0]), Buffer.from('hello')]) {
      expect(() => parseContext(bad)).toThrow(BadContextError);
    }
    expect(() => parseContext('0100')).toThrow(BadRequestError);
    expect(() => parseContext(42)).toThrow(BadRequestError);
  });
});

describe('reads and reclamation', () => {
  const put = coordinator(A);

  it('hides tombstones and expired siblings from reads but keeps their dots in the clock', () => {
    let s = put(undefined, 'ttl', EMPTY_CONTEXT, { expiresAt: NOW + 10 });
    s = put(s, 'forever');
    expect(liveValues(s, NOW + 9).map(String).sort()).toEqual(['forever', 'ttl']);
    expect(liveValues(s, NOW + 10).map(String)).toEqual(['forever']);
    // A write with the read's context supersedes the expired sibling too.
    const after = put(s, 'next', s.clock);
    expect(after.siblings).toHaveLength(1);
  });

  it('reclaim strips an expired value after the skew allowance and drops it after the grace period', () => {
    const s = put(undefined, 'ttl', EMPTY_CONTEXT, { expiresAt: NOW + 10 });
    expect(reclaimAt(s, 1000, 100)).toBe(NOW + 110);
    expect(reclaim(s, NOW + 109, 1000, 100)).toBe(s);
    expect(liveValues(s, NOW + 10)).toEqual([]);
    const stripped = reclaim(s, NOW + 110, 1000, 100)!;
    expect(stripped.siblings[0]!.value.length).toBe(0);
    expect(reclaimAt(stripped, 1000, 100)).toBe(NOW + 1010);
    // A skew allowance past the grace period: no strip, only the drop.
    expect(reclaimAt(s, 1000, 5000)).toBe(NOW + 1010);
    expect(reclaim(s, NOW + 1009, 1000, 5000)).toBe(s);
  });

  it('reclaim with no skew allowance strips an expired value at once and drops it after the grace period', () => {
    const s = put(undefined, 'ttl', EMPTY_CONTEXT, { expiresAt: NOW + 10 });
    expect(reclaimAt(s, 1000)).toBe(NOW + 10);
    expect(reclaim(s, NOW + 9, 1000)).toBe(s);
    const stripped = reclaim(s, NOW + 10, 1000)!;
    expect(stripped.siblings[0]!.value.length).toBe(0);
    expect(stripped.clock).toBe(s.clock);
    expect(digest(stripped)).toBe(digest(s));
    expect(reclaimAt(stripped, 1000)).toBe(NOW + 1010);
    expect(reclaim(stripped, NOW + 1009, 1000)).toBe(stripped);
    expect(reclaim(stripped, NOW + 1010, 1000)).toBeUndefined();
  });

  it('reclaim drops tombstones after the grace period and keeps live siblings', () => {
    const s1 = put(undefined, 'one');
    const ctx = s1.clock;
    const s2 = put(put(s1, 'concurrent'), null, ctx);
    expect(reclaimAt(s2, 500)).toBe(NOW + 500);
    const r = reclaim(s2, NOW + 500, 500)!;
    expect(r.siblings.map((x) => x.tombstone)).toEqual([false]);
    expect(text(r)).toEqual(['concurrent']);
    expect(reclaimAt(r, 500)).toBe(0);
  });

  it('a reclaimed copy and a full copy of one dot sync to the reclaimed one, either way round', () => {
    const s = put(undefined, 'ttl', EMPTY_CONTEXT, { expiresAt: NOW + 10 });
    const stripped = reclaim(s, NOW + 10, 1000)!;
    expect(sync(s, stripped)!.siblings[0]!.value.length).toBe(0);
    expect(sync(stripped, s)).toBe(stripped);
  });

  it('sync keeps the later expiry of one dot, "never" being the latest', () => {
    const s = put(undefined, 'x', EMPTY_CONTEXT, { expiresAt: NOW + 10 });
    const later = { clock: s.clock, siblings: [{ ...s.siblings[0]!, expiresAt: NOW + 20 }] };
    const never = { clock: s.clock, siblings: [{ ...s.siblings[0]!, expiresAt: 0 }] };
    expect(sync(s, later)!.siblings[0]!.expiresAt).toBe(NOW + 20);
    expect(sync(later, s)!.siblings[0]!.expiresAt).toBe(NOW + 20);
    expect(sync(later, never)!.siblings[0]!.expiresAt).toBe(0);
  });
});

describe('digest', () => {
  it('is XXH64 over the clock then dot, expires_at and tombstone byte per sibling', () => {
    const put = coordinator(A);
    const s = put(put(undefined, 'one', EMPTY_CONTEXT, { expiresAt: NOW + 5 }), null);
    const parts: Buffer[] = [Buffer.from(s.clock)];
    for (const x of s.siblings) {
      const t = Buffer.alloc(8);
      t.writeBigUInt64LE(BigInt(x.expiresAt));
      parts.push(Buffer.from(x.dot), t, Buffer.from([x.tombstone ? 1 : 0]));
    }
    expect(digest(s)).toBe(native.hash64(Buffer.concat(parts)));
    expect(digest(s)).not.toBe(digest(put(s, 'more')));
  });
});

describe('checkSiblingSet', () => {
  const put = coordinator(A);
  const good = put(put(undefined, 'one'), 'two');

  it('accepts a valid set and canonicalises an empty clock', () => {
    expect(checkSiblingSet(good, 100)).toBe(good);
    expect(checkSiblingSet({ clock: new Uint8Array(0), siblings: [] }, 100).clock).toEqual(EMPTY_CONTEXT);
  });

  it('rejects malformed sets', () => {
    const s0 = good.siblings[0]!;
    const s1 = good.siblings[1]!;
    const cases: unknown[] = [
      null,
      'set',
      { clock: 'x', siblings: [] },
      { clock: good.clock },
      { clock: Buffer.from([9]), siblings: [] },
      { clock: good.clock, siblings: [s1, s0] },
      { clock: good.clock, siblings: [s0, s0] },
      { clock: good.clock, siblings: [{ ...s0, dot: Buffer.alloc(15) }] },
      { clock: good.clock, siblings: [{ ...s0, dot: Buffer.alloc(16) }] },
      { clock: good.clock, siblings: [{ ...s0, tombstone: true }] },
      { clock: good.clock, siblings: [{ ...s0, expiresAt: -1 }] },
      { clock: good.clock, siblings: [{ ...s0, writtenAt: 1.5 }] },
      { clock: good.clock, siblings: [{ ...s0, value: 'v' }] },
      { clock: EMPTY_CONTEXT, siblings: [s0] }, // dot not covered
    ];
    for (const c of cases) expect(() => checkSiblingSet(c, 100), JSON.stringify(c)).toThrow(BadRequestError);
    expect(() => checkSiblingSet(good, 2)).toThrow(TooLargeError);
  });
});
