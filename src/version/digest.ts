// The version digest that Merkle trees are built from (docs/architecture.md
// "Digest"): XXH64 over the clock, then per sibling its dot, expires_at (u64 LE)
// and a tombstone byte. Values are left out: a dot names one value, and a copy
// whose value was reclaimed after expiry digests like the full one.
import type { SiblingSet } from '../codec/index.js';
import { native } from '../native.js';
import { DOT_BYTES, copyDot } from './dot.js';

const PER_SIBLING = DOT_BYTES + 8 + 1;
let scratch = Buffer.allocUnsafe(4096);
/** Views of scratch by length, made once: a new view per digest was a typed array to make and collect. */
let views: Buffer[] = [];

function view(length: number): Buffer {
  return (views[length] ??= scratch.subarray(0, length));
}

export function digest(set: SiblingSet): bigint {
  const need = set.clock.length + set.siblings.length * PER_SIBLING;
  if (scratch.length < need) {
    scratch = Buffer.allocUnsafe(Math.max(need, scratch.length * 2));
    views = [];
  }
  scratch.set(set.clock, 0);
  let off = set.clock.length;
  for (const s of set.siblings) {
    copyDot(scratch, off, s.dot);
    off += DOT_BYTES;
    scratch.writeUInt32LE(s.expiresAt >>> 0, off);
    scratch.writeUInt32LE(Math.floor(s.expiresAt / 0x1_0000_0000), off + 4);
    off += 8;
    scratch[off++] = s.tombstone ? 1 : 0;
  }
  return native.hash64(view(off));
}
