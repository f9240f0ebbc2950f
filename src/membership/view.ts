// This node's view of the cluster: one entry per member (itself included), and
// the view checksum that travels in every datagram, so that convergence can be
// observed: equal views have equal checksums. The checksum is a set hash — the
// wrapping 64-bit sum of XXH64 over each entry's canonical bytes — so a change to
// one entry updates it in O(1), and it does not depend on order.
import type { Member } from '../codec/index.js';
import { MemberStatus } from '../codec/index.js';
import { native } from '../native.js';

const MASK = (1n << 64n) - 1n;
// Largest entry: four names of at most 255 UTF-8 bytes with length prefixes, eight numbers.
const scratch = Buffer.allocUnsafe(4 * (4 + 255) + 8 * 8);

/**
 * XXH64 of an entry's canonical bytes: id, host, dc, rack (u32 BE length, UTF-8),
 * then port, capacity, incarnation, status, ringStatus, httpPort, protocol as
 * float64 BE. statusAt is left out: for most states it is a local time.
 */
export function entryHash(m: Member): bigint {
  let o = 0;
  for (const s of [m.id, m.host, m.dc, m.rack]) {
    const n = scratch.write(s, o + 4, 'utf8');
    scratch.writeUInt32BE(n, o);
    o += 4 + n;
  }
  for (const v of [m.port, m.capacity, m.incarnation, m.status, m.ringStatus, m.httpPort, m.protocol]) {
    scratch.writeDoubleBE(v, o);
    o += 8;
  }
  return native.hash64(scratch.subarray(0, o));
}

/** The checksum of any set of entries, as MemberView computes it: 8 bytes big-endian. */
export function viewChecksum(members: Iterable<Member>): Buffer {
  let sum = 0n;
  for (const m of members) sum = (sum + entryHash(m)) & MASK;
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(sum);
  return out;
}

export class MemberView {
  private readonly byId = new Map<string, Member>();
  private readonly hashes = new Map<string, bigint>();
  private readonly left = new Set<string>();
  private sum = 0n;
  private sumBytes: Buffer | undefined;

  get size(): number {
    return this.byId.size;
  }

  get(id: string): Member | undefined {
    return this.byId.get(id);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** Stores `member` (the view owns the object from now on). */
  set(member: Member): void {
    this.byId.set(member.id, member);
    this.rehash(member);
  }

  delete(id: string): boolean {
    const h = this.hashes.get(id);
    if (h === undefined) return false;
    this.byId.delete(id);
    this.hashes.delete(id);
    this.left.delete(id);
    this.sum = (this.sum - h) & MASK;
    this.sumBytes = undefined;
    return true;
  }

  /** Call after mutating the stored entry of `id` in place. */
  changed(id: string): void {
    const m = this.byId.get(id);
    if (m !== undefined) this.rehash(m);
  }

  values(): IterableIterator<Member> {
    return this.byId.values();
  }

  /** Members not left: the n of the protocol's formulas. */
  get activeCount(): number {
    return this.byId.size - this.left.size;
  }

  /** 8 bytes, big-endian; the caller must not modify them. */
  checksum(): Buffer {
    if (this.sumBytes === undefined) {
      const b = Buffer.allocUnsafe(8);
      b.writeBigUInt64BE(this.sum);
      this.sumBytes = b;
    }
    return this.sumBytes;
  }

  private rehash(m: Member): void {
    const h = entryHash(m);
    const old = this.hashes.get(m.id) ?? 0n;
    this.hashes.set(m.id, h);
    this.sum = (this.sum - old + h) & MASK;
    this.sumBytes = undefined;
    if (m.status === MemberStatus.LEFT) this.left.add(m.id);
    else this.left.delete(m.id);
  }
}
