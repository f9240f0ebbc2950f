// `shoal status`'s summary of GET /status: the lines a reader relies on.
import { describe as suite, expect, it } from 'vitest';
import { type Status, describe } from '../../src/cli/admin.js';

function status(over: Partial<Status> = {}): Status {
  return {
    id: 'n1',
    address: '127.0.0.1:7400',
    members: [{ id: 'n1', address: '127.0.0.1:7400', status: 'alive', ring: 'active' }],
    ring: { version: 3, partitions: 64, nodes: ['n1'], owned: 64, role: 'active', pending: null },
    hints: { pending: 2 },
    ...over,
  };
}

suite('shoal status', () => {
  it('names the node, its members and hints', () => {
    const lines = describe(status());
    expect(lines[0]).toBe('node n1 (127.0.0.1:7400): ring v3, 64 partitions, owns 64, active');
    expect(lines).toContain('hints: 2 pending');
    expect(lines.some((l) => l.startsWith('requests coordinated'))).toBe(false); // an older node's status has none
  });

  it('counts hints delivered, failed, expired and refused, where the node reports them', () => {
    const hints = { pending: 5, delivered: 900, batches: 4, failed: 3, expired: 1, refused: 0 };
    expect(describe(status({ hints }))).toContain('hints: 5 pending; 900 delivered (4 batched requests), 3 failed deliveries, 1 expired, 0 refused');
    expect(describe(status({ hints: { ...hints, yieldedMs: 0 } }))).toContain('hints: 5 pending; 900 delivered (4 batched requests), 3 failed deliveries, 1 expired, 0 refused');
    expect(describe(status({ hints: { ...hints, yieldedMs: 12_345 } }))).toContain(
      'hints: 5 pending; 900 delivered (4 batched requests), 3 failed deliveries, 1 expired, 0 refused; waited 12.3 s for busy owners',
    );
  });

  it('counts the requests the node coordinated, and the replica reads it answered', () => {
    const c = { gets: 10, puts: 20, deletes: 1, replicaReads: 7, readRepairs: 2, speculativeReads: 3, quorumFailures: 0, timeouts: 4 };
    expect(describe(status({ coordinator: c }))).toContain(
      'requests coordinated: 10 gets, 20 puts, 1 deletes; 7 replica reads answered; 2 read repairs, 3 speculative reads; 0 quorum failures, 4 timeouts',
    );
  });

  it('names the replication, per data centre when set, and the node dc', () => {
    const line = (replication: Status['replication']) => describe(status({ replication })).find((l) => l.startsWith('replication'));
    expect(line({ n: 3, perDc: null, quorumScope: 'global', dc: 'dc1' })).toBe('replication: 3 replicas; this node is in dc1');
    expect(line({ n: 5, perDc: { west: 2, east: 3 }, quorumScope: 'local', dc: 'west' })).toBe(
      'replication: east:3,west:2 (5 replicas), local quorums by default; this node is in west',
    );
    expect(line(undefined)).toBeUndefined();
    const warned = describe(status({ replication: { n: 3, perDc: null, quorumScope: 'global', dc: 'dc1', mismatched: { n2: 'dc1:3' } } }));
    expect(warned).toContain('WARNING: members with another replication (reads will miss writes): n2 (dc1:3)');
    expect(describe(status({ replication: { n: 3, perDc: null, quorumScope: 'global', dc: 'dc1', mismatched: {} } })).some((l) => l.startsWith('WARNING'))).toBe(false);
  });

  it("says where the key filter stands: kept from a clean stop, scanning, or failed", () => {
    const f = { ready: true, restored: true, keys: 1000, bytes: 2 * 1024 * 1024, skips: 5, errors: 0 };
    const line = (keyFilter: typeof f) => describe(status({ storage: { keyFilter } })).find((l) => l.startsWith('key filter'));
    expect(line(f)).toBe('key filter: ready (kept from the last clean stop), 1000 keys in 2.0 MB, 5 reads skipped');
    expect(line({ ...f, restored: false })).toMatch(/^key filter: ready, /);
    expect(line({ ...f, ready: false, restored: false })).toMatch(/^key filter: scanning the keys on disk, /);
    expect(line({ ...f, ready: false, restored: false, errors: 1 })).toMatch(/^key filter: unused \(its scan failed\), /);
  });
});
