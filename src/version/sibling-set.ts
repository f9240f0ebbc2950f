// Sibling-set semantics (docs/architecture.md "Sibling sets"): writes, the sync
// join, reads and reclamation. Pure functions; inputs are never mutated, and a
// function that changes nothing returns its input object, so callers can skip
// writing by comparing identities.
import type { Sibling, SiblingSet } from '../codec/index.js';
import { Order, native } from '../native.js';
import { EMPTY_CONTEXT } from './context.js';
import { DOT_BYTES, compareDots, copyDot, dotActor, encodeDot, sameDot, singleEntryClock } from './dot.js';

/** Past this many entries a write prunes its clock, oldest first (Dynamo's bound). */
export const DEFAULT_MAX_CLOCK_ENTRIES = 32;

const EMPTY_VALUE = Buffer.alloc(0);

/** One write, coordinated by `actor` with a counter from nextCounter(). */
export interface Write {
  actor: bigint;
  counter: number;
  /** A checked context (parseContext): which versions the writer saw. */
  context: Uint8Array;
  /** Owned by the set from now on: callers pass a copy of client memory. */
  value: Uint8Array;
  tombstone: boolean;
  /** ms since the epoch; 0 = never. */
  expiresAt: number;
  writtenAt: number;
}

// Dots of sibling lists are packed here for the native calls, which read them
// synchronously; grown on demand, never shrunk.
let scratch = Buffer.allocUnsafe(64 * DOT_BYTES);

function packDots(a: readonly Sibling[], b: readonly Sibling[] = []): Buffer {
  const need = (a.length + b.length) * DOT_BYTES;
  if (scratch.length < need) scratch = Buffer.allocUnsafe(Math.max(need, scratch.length * 2));
  let off = 0;
  for (let i = 0; i < a.length; i++, off += DOT_BYTES) copyDot(scratch, off, a[i]!.dot);
  for (let i = 0; i < b.length; i++, off += DOT_BYTES) copyDot(scratch, off, b[i]!.dot);
  return scratch;
}

function isEmptyVv(vv: Uint8Array): boolean {
  return vv.length <= 2; // zero bytes, or the canonical 01 00
}

/** Byte equality of two encodings (equal canonical encodings are equal vectors). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The state after a write: siblings the context covers are superseded, the others
 * survive, the new sibling gets the dot (actor, counter), and
 * clock = clock ⊔ context ⊔ dot, pruned past maxClockEntries. RangeError if the
 * counter is not fresh (already covered by the clock or the context).
 */
export function applyWrite(current: SiblingSet | undefined, w: Write, maxClockEntries = DEFAULT_MAX_CLOCK_ENTRIES): SiblingSet {
  const olds = current?.siblings ?? [];
  const clock0 = current?.clock ?? EMPTY_CONTEXT;
  const ctx = w.context;
  let kept: Sibling[];
  let clock: Uint8Array;
  if (isEmptyVv(ctx)) {
    kept = olds.slice();
    clock = clock0;
  } else if (olds.length === 0 || sameBytes(ctx, clock0)) {
    // Every sibling's dot is covered by the clock, so a context equal to it covers all.
    kept = [];
    clock = olds.length === 0 ? native.vvMerge(clock0, ctx) : clock0;
  } else {
    const order = native.vvCompare(ctx, clock0);
    if (order === Order.After || order === Order.Equal) {
      kept = [];
      clock = order === Order.Equal ? clock0 : Buffer.from(ctx); // a copy: ctx is the caller's
    } else {
      const packed = packDots(olds);
      const covered = native.dotsCoveredBy(ctx, packed.subarray(0, olds.length * DOT_BYTES));
      kept = [];
      for (let i = 0; i < olds.length; i++) if (covered[i] === 0) kept.push(olds[i]!);
      clock = native.vvMerge(clock0, ctx);
    }
  }
  if (isEmptyVv(clock)) {
    clock = singleEntryClock(w.actor, w.counter);
  } else {
    if (native.vvGet(clock, w.actor) >= w.counter) throw new RangeError('write counter is already covered by the clock');
    clock = native.vvEvent(clock, w.actor, w.counter);
  }
  const sibling: Sibling = {
    dot: encodeDot(w.actor, w.counter),
    value: w.tombstone ? EMPTY_VALUE : w.value,
    tombstone: w.tombstone,
    expiresAt: w.expiresAt,
    writtenAt: w.writtenAt,
  };
  // Insert in dot order (the new dot is usually the largest of its actor).
  let at = kept.length;
  kept.push(sibling);
  while (at > 0 && compareDots(kept[at - 1]!.dot, sibling.dot) > 0) {
    kept[at] = kept[at - 1]!;
    at--;
  }
  kept[at] = sibling;
  return { clock: pruneClock(clock, kept, maxClockEntries), siblings: kept };
}

/**
 * The clock without its oldest entries past maxEntries, except that an actor with
 * a surviving sibling keeps its entry, so every sibling stays covered. Pruning only
 * makes the clock forget: a replica may then see a superseded version again as a
 * sibling, but never loses one.
 */
export function pruneClock(clock: Uint8Array, siblings: readonly Sibling[], maxEntries: number): Uint8Array {
  // An entry takes at least 9 bytes (actor + 1-byte counter) after a header of 2+.
  if (clock.length < 2 + 9 * (maxEntries + 1) || native.vvValidate(clock) <= maxEntries) return clock;
  let pruned: Uint8Array = native.vvPrune(clock, maxEntries);
  const packed = packDots(siblings);
  const covered = native.dotsCoveredBy(pruned, packed.subarray(0, siblings.length * DOT_BYTES));
  for (let i = 0; i < siblings.length; i++) {
    if (covered[i] === 0) {
      const actor = dotActor(siblings[i]!.dot);
      pruned = native.vvEvent(pruned, actor, native.vvGet(clock, actor));
    }
  }
  return pruned;
}

/** Expiry with 0 ("never") as the latest time. */
function expiryRank(s: Sibling): number {
  return s.expiresAt === 0 ? Infinity : s.expiresAt;
}

/**
 * Of two copies of one dot, the one a sync keeps: the later expiry, then a
 * reclaimed copy (value dropped after expiry) over a full one; any remaining tie
 * is broken on content so that the choice never depends on argument order.
 */
function laterCopy(x: Sibling, y: Sibling): Sibling {
  const ex = expiryRank(x);
  const ey = expiryRank(y);
  if (ex !== ey) return ex > ey ? x : y;
  if (x.value.length !== y.value.length) return x.value.length < y.value.length ? x : y;
  if (x.tombstone !== y.tombstone) return x.tombstone ? x : y;
  if (x.writtenAt !== y.writtenAt) return x.writtenAt > y.writtenAt ? x : y;
  return x.value === y.value || Buffer.compare(x.value, y.value) <= 0 ? x : y;
}

/**
 * The join of two replicas' states: a sibling of one side survives when the
 * other side holds the same dot or the other side's clock does not cover it;
 * clock = clockA ⊔ clockB. Idempotent, commutative and associative, and it never
 * drops a version that no write has superseded. Returns `a` itself when b adds
 * nothing to it.
 */
export function sync(a: SiblingSet | undefined, b: SiblingSet | undefined): SiblingSet | undefined {
  if (a === undefined || a === b) return b;
  if (b === undefined) return a;
  const as = a.siblings;
  const bs = b.siblings;
  const na = as.length;
  const nb = bs.length;
  if (na === nb && sameBytes(a.clock, b.clock) && sameCopies(as, bs)) return a;
  const packed = packDots(as, bs);
  const keep = native.dotSync(a.clock, packed.subarray(0, na * DOT_BYTES), b.clock, packed.subarray(na * DOT_BYTES, (na + nb) * DOT_BYTES));
  const out: Sibling[] = [];
  let sameAsA = true;
  let i = 0;
  let j = 0;
  while (i < na || j < nb) {
    const c = i >= na ? 1 : j >= nb ? -1 : compareDots(as[i]!.dot, bs[j]!.dot);
    if (c < 0) {
      if (keep[i] === 1) out.push(as[i]!);
      else sameAsA = false;
      i++;
    } else if (c > 0) {
      if (keep[na + j] === 1) {
        out.push(bs[j]!);
        sameAsA = false;
      }
      j++;
    } else {
      const pick = laterCopy(as[i]!, bs[j]!);
      out.push(pick);
      if (pick !== as[i]) sameAsA = false;
      i++;
      j++;
    }
  }
  let clock = a.clock;
  if (!sameBytes(a.clock, b.clock)) {
    const merged = native.vvMerge(a.clock, b.clock);
    if (!sameBytes(merged, a.clock)) {
      clock = merged;
      sameAsA = false;
    }
  }
  return sameAsA ? a : { clock, siblings: out };
}

/**
 * True when b's siblings are the same dots as a's, in order, and sync would keep
 * a's copy of each. With equal clocks, sync(a, b) is then a itself (each side
 * keeps exactly the dots the other also holds): replicas that agree, the usual
 * case, merge without the native calls.
 */
function sameCopies(as: readonly Sibling[], bs: readonly Sibling[]): boolean {
  for (let i = 0; i < as.length; i++) {
    const x = as[i]!;
    const y = bs[i]!;
    if (x !== y && (!sameDot(x.dot, y.dot) || laterCopy(x, y) !== x)) return false;
  }
  return true;
}

/** A sibling a read returns: not a tombstone, not expired at `now`. */
export function isLive(s: Sibling, now: number): boolean {
  return !s.tombstone && (s.expiresAt === 0 || s.expiresAt > now);
}

/** The distinct values of the live siblings, in sibling order (the first of byte-identical ones). */
export function liveValues(set: SiblingSet | undefined, now: number): Buffer[] {
  const out: Buffer[] = [];
  if (set === undefined) return out;
  for (const s of set.siblings) {
    if (!isLive(s, now)) continue;
    const v = Buffer.isBuffer(s.value) ? s.value : Buffer.from(s.value.buffer, s.value.byteOffset, s.value.length);
    // Byte-identical siblings (a blind write retried through another coordinator,
    // or two clients writing the same bytes) are one value to the reader; the
    // context still covers every version, so a write with it supersedes them all.
    if (out.length > 0 && out.some((x) => x.equals(v))) continue;
    out.push(v);
  }
  return out;
}

/** True when some sibling is live at `now`. */
export function hasLive(set: SiblingSet | undefined, now: number): boolean {
  if (set === undefined) return false;
  for (const s of set.siblings) if (isLive(s, now)) return true;
  return false;
}

/**
 * Reclamation at `now`: an expired sibling loses its value stripAfterMs after
 * its expiry (reads stopped seeing it at expiry; its dot, expiry and the clock
 * stay; the delay keeps a replica whose clock lags from reading the emptied copy
 * as live), and is dropped graceMs after expiry; a tombstone is dropped graceMs
 * after it was written. The set goes (undefined) when no sibling is left: until
 * then its clock keeps superseded versions on lagging replicas from coming back.
 */
export function reclaim(set: SiblingSet, now: number, graceMs: number, stripAfterMs = 0): SiblingSet | undefined {
  let out: Sibling[] | undefined;
  const ss = set.siblings;
  for (let i = 0; i < ss.length; i++) {
    const s = ss[i]!;
    let next: Sibling | undefined = s;
    if (s.tombstone) {
      if (s.writtenAt + graceMs <= now) next = undefined;
    } else if (s.expiresAt !== 0 && s.expiresAt <= now) {
      if (s.expiresAt + graceMs <= now) next = undefined;
      else if (s.value.length > 0 && s.expiresAt + stripAfterMs <= now) next = { ...s, value: EMPTY_VALUE };
    }
    if (next !== s && out === undefined) out = ss.slice(0, i);
    if (out !== undefined && next !== undefined) out.push(next);
  }
  if (out === undefined) return set;
  return out.length === 0 ? undefined : { clock: set.clock, siblings: out };
}

/**
 * The earliest time at which reclaim() with the same periods would change the
 * set, 0 if never: the time the expiry index files the record under.
 */
export function reclaimAt(set: SiblingSet | undefined, graceMs: number, stripAfterMs = 0): number {
  if (set === undefined) return 0;
  let t = Infinity;
  for (const s of set.siblings) {
    if (s.tombstone) t = Math.min(t, s.writtenAt + graceMs);
    else if (s.expiresAt !== 0) {
      const strip = s.value.length > 0 && stripAfterMs < graceMs;
      t = Math.min(t, s.expiresAt + (strip ? stripAfterMs : graceMs));
    }
  }
  return t === Infinity ? 0 : Math.max(t, 1);
}

/** Equal clocks and, sibling by sibling, equal dots, expiries and tombstones: what digest() covers. */
export function sameVersions(a: SiblingSet, b: SiblingSet): boolean {
  if (a === b) return true;
  if (a.siblings.length !== b.siblings.length || !sameBytes(a.clock, b.clock)) return false;
  for (let i = 0; i < a.siblings.length; i++) {
    const x = a.siblings[i]!;
    const y = b.siblings[i]!;
    if (x.expiresAt !== y.expiresAt || x.tombstone !== y.tombstone || !sameBytes(x.dot, y.dot)) return false;
  }
  return true;
}
