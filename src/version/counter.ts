// Counter issue rule (docs/architecture.md "Actors, dots and counters").
import { native } from '../native.js';
import { MAX_COUNTER } from './dot.js';
import { sameBytes } from './sibling-set.js';

/**
 * The counter for actor's next write to a key whose state has `clock` and whose
 * writer sent `context`: max(last issued + 1, now_ms * 1000, clock[actor] + 1,
 * context[actor] + 1). Monotonic per actor, time-ordered, and never a dot the key
 * has seen. RangeError if it would reach 2^53.
 */
export function nextCounter(lastIssued: number, nowMs: number, actor: bigint, clock: Uint8Array, context: Uint8Array): number {
  let c = Math.max(lastIssued + 1, Math.floor(nowMs) * 1000);
  if (clock.length > 2) c = Math.max(c, native.vvGet(clock, actor) + 1);
  if (context.length > 2 && !sameBytes(context, clock)) c = Math.max(c, native.vvGet(context, actor) + 1);
  if (!(c <= MAX_COUNTER)) throw new RangeError('counter space exhausted');
  return c;
}
