// Checks a sibling set that arrived from elsewhere (another replica, a hint)
// before anything is merged with it.
import type { Sibling, SiblingSet } from '../codec/index.js';
import { BadRequestError, TooLargeError } from '../errors.js';
import { native } from '../native.js';
import { EMPTY_CONTEXT } from './context.js';
import { DOT_BYTES, compareDots, copyDot, dotCounter } from './dot.js';

// Dots of the set being checked, packed for the native coverage check.
let scratch = Buffer.allocUnsafe(64 * DOT_BYTES);

function bad(msg: string, cause?: unknown): never {
  const err = new BadRequestError(`invalid sibling set: ${msg}`);
  if (cause !== undefined) (err as { cause?: unknown }).cause = cause;
  throw err;
}

function isTime(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

/**
 * The set in canonical form (a zero-length clock becomes EMPTY_CONTEXT), or
 * BadRequestError when it is malformed: a bad clock, a dot that is not 16 bytes
 * with a counter of 1..2^53-1, dots not strictly ascending, a dot the clock does
 * not cover, a tombstone with a value, bad times. TooLargeError for a value over
 * maxValueBytes.
 */
export function checkSiblingSet(set: unknown, maxValueBytes: number): SiblingSet {
  if (typeof set !== 'object' || set === null) bad('not an object');
  const { clock, siblings } = set as Partial<SiblingSet>;
  if (!(clock instanceof Uint8Array)) bad('clock must be bytes');
  if (!Array.isArray(siblings)) bad('siblings must be an array');
  try {
    native.vvValidate(clock);
  } catch (err) {
    bad(`clock: ${(err as Error).message}`, err);
  }
  const n = siblings.length;
  if (scratch.length < n * DOT_BYTES) scratch = Buffer.allocUnsafe(Math.max(n * DOT_BYTES, 2 * scratch.length));
  let prev: Uint8Array | undefined;
  for (let i = 0; i < n; i++) {
    const s = siblings[i] as Sibling;
    if (typeof s !== 'object' || s === null) bad(`sibling ${i} is not an object`);
    if (!(s.dot instanceof Uint8Array) || s.dot.length !== DOT_BYTES) bad(`sibling ${i}: dot must be 16 bytes`);
    const c = dotCounter(s.dot);
    if (c < 1 || !Number.isSafeInteger(c)) bad(`sibling ${i}: dot counter must be from 1 to 2^53-1`);
    if (prev !== undefined && compareDots(prev, s.dot) >= 0) bad('siblings are not sorted by dot, or repeat one');
    prev = s.dot;
    if (!(s.value instanceof Uint8Array)) bad(`sibling ${i}: value must be bytes`);
    if (s.value.length > maxValueBytes) throw new TooLargeError(`sibling value of ${s.value.length} bytes is over the ${maxValueBytes}-byte limit`);
    if (typeof s.tombstone !== 'boolean') bad(`sibling ${i}: tombstone must be a boolean`);
    if (s.tombstone && s.value.length > 0) bad(`sibling ${i}: a tombstone carries no value`);
    if (!isTime(s.expiresAt) || !isTime(s.writtenAt)) bad(`sibling ${i}: times must be non-negative safe integers`);
    copyDot(scratch, i * DOT_BYTES, s.dot);
  }
  if (n > 0) {
    // The native call reads the scratch synchronously; nothing else uses it meanwhile.
    const covered = native.dotsCoveredBy(clock, scratch.subarray(0, n * DOT_BYTES));
    for (let i = 0; i < n; i++) if (covered[i] === 0) bad('a sibling dot is not covered by the clock');
  }
  return clock.length === 0 ? { clock: EMPTY_CONTEXT, siblings } : (set as SiblingSet);
}
