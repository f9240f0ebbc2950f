// How many replicas a key has: N in all (placed across data centres and racks as
// they come), or a count per data centre (Cassandra's NetworkTopologyStrategy),
// which lets a request wait for its own data centre only.

/** Replicas per data centre, e.g. `{ dc1: 3, dc2: 3 }`. */
export type DcReplication = Readonly<Record<string, number>>;

/** N, or replicas per data centre. */
export type Replication = number | DcReplication;

export const MAX_REPLICAS = 16;

/** The replication factor in all: N, or the sum over data centres. */
export function replicationTotal(r: Replication): number {
  if (typeof r === 'number') return r;
  let sum = 0;
  for (const dc of Object.keys(r)) sum += r[dc]!;
  return sum;
}

/** Throws RangeError unless `r` is a valid per-dc map: 1–16 replicas in all, 1 or more per named dc. */
export function checkDcReplication(r: DcReplication): void {
  const dcs = Object.keys(r);
  if (dcs.length === 0) throw new RangeError('replication must name at least one data centre');
  for (const dc of dcs) {
    const n = r[dc];
    if (dc === '' || !/^[A-Za-z0-9._-]{1,64}$/.test(dc)) throw new RangeError(`data centre "${dc}" must be 1 to 64 letters, digits or . _ -`);
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw new RangeError(`replicas in ${dc} must be a positive integer, got ${String(n)}`);
  }
  const total = replicationTotal(r);
  if (total > MAX_REPLICAS) throw new RangeError(`replication adds up to ${total} replicas; at most ${MAX_REPLICAS}`);
}

/** Parses `dc1:3,dc2:3` (the form of --replication); throws RangeError on anything else. */
export function parseDcReplication(s: string): DcReplication {
  const out: Record<string, number> = {};
  for (const part of s.split(',')) {
    const m = /^\s*([^:\s]+)\s*:\s*(\d+)\s*$/.exec(part);
    if (!m) throw new RangeError(`"${part.trim()}" is not dc:count`);
    if (Object.hasOwn(out, m[1]!)) throw new RangeError(`data centre ${m[1]} is named twice`);
    out[m[1]!] = Number(m[2]);
  }
  checkDcReplication(out);
  return out;
}

/** `dc1:3,dc2:3`, dcs sorted: the canonical form (equal maps, equal strings). */
export function formatReplication(r: Replication): string {
  if (typeof r === 'number') return String(r);
  return Object.keys(r)
    .sort()
    .map((dc) => `${dc}:${r[dc]}`)
    .join(',');
}
