// What a node reports about itself: GET /status, GET /metrics and the partition
// report behind GET /admin/partitions. Read-only views over the node's parts.
import { MemberStatus } from './codec/index.js';
import { UnavailableError } from './errors.js';
import type { ShoalNode } from './node.js';
import { ownership, replicationTotal, ringChecksum, roleIn } from './ring/index.js';

export function nodeStatus(node: ShoalNode): object {
  const ring = node.ring.ring;
  const handover = node.handover.status();
  return {
    id: node.id,
    address: node.address,
    members: node.membership.members().map((m) => ({
      id: m.id,
      address: `${m.host}:${m.port}`,
      status: statusName(m.status),
      ring: m.status === MemberStatus.LEFT ? 'left' : roleIn(ring, m.id),
      incarnation: m.incarnation,
      dc: m.dc,
      rack: m.rack,
      httpPort: m.httpPort,
    })),
    membershipChecksum: node.membership.checksum(),
    replication: {
      n: replicationTotal(node.replication),
      perDc: typeof node.replication === 'number' ? null : node.replication,
      quorumScope: node.options.quorumScope ?? 'global',
      dc: node.options.dc ?? 'dc1',
      /** Members whose push-pull said they place replicas otherwise: id → their replication. */
      mismatched: Object.fromEntries(node.replicationMismatches),
    },
    ring: ring
      ? {
          version: ring.version,
          partitions: ring.partitions,
          checksum: ringChecksum(ring).toString(16).padStart(16, '0'),
          nodes: ring.nodes,
          owned: ownership(ring).get(node.id) ?? 0,
          role: handover.role,
          pending: handover.pending,
        }
      : null,
    hints: { pending: node.store.hintCount(), refused: node.store.stats.hintsRefused, ...node.handoff.stats },
    coordinator: node.coordinator.stats,
    storage: node.store.stats,
    transport: { server: node.rpc.stats(), peers: node.peers.stats() },
    antiEntropy: {
      trees: { ...node.trees.stats },
      ...node.antiEntropy.stats,
      served: node.responder.stats,
    },
    transfer: {
      ...node.transfer.stats,
      intent: handover.intent,
      departures: handover.departures,
      forwarded: node.forwarding.stats.forwarded,
      forwardsHinted: node.forwarding.stats.hinted,
      graceLeftMs: handover.graceLeftMs,
      dropped: handover.dropped,
    },
  };
}

/**
 * Per partition: whether this node replicates it (holds a tree), the keys and
 * root of its tree, and whether the store holds any of its data. For checks
 * that each node holds exactly its partitions and that replicas agree.
 */
export async function partitionReport(node: ShoalNode): Promise<object> {
  const ring = node.ring.ring;
  if (ring === undefined) throw new UnavailableError('this node has not learned the ring yet');
  const held = node.handover.held();
  const out: Array<{ partition: number; held: boolean; keys: number | null; root: string | null; hasData: boolean }> = [];
  for (let p = 0; p < ring.partitions; p++) {
    const tree = node.trees.tree(p);
    out.push({
      partition: p,
      held: held.has(p),
      keys: tree ? node.trees.keyCount(p) : null,
      root: tree ? tree.root().toString(16).padStart(16, '0') : null,
      hasData: tree ? node.trees.keyCount(p) > 0 : await node.drop.holds(p, ring.partitions),
    });
  }
  return { id: node.id, ringVersion: ring.version, partitions: out };
}

export function nodeMetrics(node: ShoalNode): string {
  const lines: string[] = [];
  const put = (name: string, value: number, help: string) => {
    lines.push(`# HELP shoal_${name} ${help}`, `# TYPE shoal_${name} counter`, `shoal_${name} ${value}`);
  };
  const c = node.coordinator.stats;
  put('gets_total', c.gets, 'get requests coordinated');
  put('puts_total', c.puts, 'put requests coordinated');
  put('deletes_total', c.deletes, 'delete requests coordinated');
  put('touches_total', c.touches, 'touch requests coordinated');
  put('forwarded_total', c.forwarded, 'writes forwarded to a replica of the key');
  put('fallback_writes_total', c.fallbackWrites, 'writes sent to a fallback with a hint');
  put('relayed_writes_total', c.relayed, 'writes sent to another dc as one copy, relayed there by one of its replicas');
  put('relay_fallbacks_total', c.relayFallbacks, 'relayed writes whose relay failed, so each replica of that dc was written directly');
  put('passed_on_total', c.passedOn, 'relayed writes this node passed on to a replica of its dc');
  put('read_repairs_total', c.readRepairs, 'replicas repaired after a read');
  put('speculative_reads_total', c.speculativeReads, 'reads sent to one more replica because the asked ones were slow');
  put('replica_reads_total', c.replicaReads, 'replica reads answered for coordinators on other nodes');
  put('quorum_failures_total', c.quorumFailures, 'requests that could not reach R or W replicas');
  put('timeouts_total', c.timeouts, 'requests past their deadline');
  put('hints_delivered_total', node.handoff.stats.delivered, 'hints delivered to their owner');
  put('hint_batches_total', node.handoff.stats.batches, 'requests that delivered several hints at once');
  put('hint_yielded_seconds_total', node.handoff.stats.yieldedMs / 1000, 'time hint delivery waited between batches for owners that answered late');
  put('hints_expired_total', node.handoff.stats.expired, 'hints dropped past their maximum age');
  put('hints_refused_total', node.store.stats.hintsRefused, 'new hints refused because the hint store was full');
  lines.push('# TYPE shoal_hints_pending gauge', `shoal_hints_pending ${node.store.hintCount()}`);
  const m = node.membership.stats();
  put('gossip_dropped_unauthenticated_total', m.droppedUnauthenticated, 'datagrams no key opened');
  put('gossip_dropped_malformed_total', m.droppedMalformed, 'datagrams that did not decode');
  const r = node.rpc.stats();
  put('rpc_unauthorized_total', r.errors.unauthorized, 'connections closed for a failed or missing handshake');
  put('rpc_malformed_total', r.errors.malformed, 'connections closed for a frame that did not decode');
  put('rpc_oversize_total', r.errors.oversize, 'connections closed for a frame over the limit');
  put('rpc_unknown_message_total', r.errors.unknownMessage, 'requests of a kind this node does not know');
  const ae = node.antiEntropy.stats;
  put('ae_rounds_total', ae.rounds, 'anti-entropy rounds started');
  put('ae_roots_compared_total', ae.rootsCompared, 'partition roots compared with a replica');
  put('ae_roots_differing_total', ae.rootsDiffering, 'partition roots found different');
  put('ae_exchanges_total', ae.exchanges, 'partition exchanges run');
  put('ae_keys_pushed_total', ae.keysPushed, 'keys shipped to replicas by anti-entropy');
  put('ae_keys_pulled_total', ae.keysPulled, 'keys fetched from replicas by anti-entropy');
  put('ae_bytes_sent_total', ae.bytesSent, 'bytes sent by anti-entropy exchanges');
  put('ae_bytes_received_total', ae.bytesReceived, 'bytes received by anti-entropy exchanges');
  put('ae_throttled_ms_total', Math.round(ae.throttledMs), 'milliseconds exchanges waited for the byte budget');
  put('ae_errors_total', ae.errors, 'failed anti-entropy requests');
  put('ae_tree_builds_total', node.trees.stats.builds, 'Merkle trees built from disk');
  const t = node.transfer.stats;
  put('transfer_keys_received_total', t.keysReceived, 'keys received by ownership transfer');
  put('transfer_bytes_received_total', t.bytesReceived, 'bytes received by ownership transfer');
  put('transfer_forwarded_total', node.forwarding.stats.forwarded, 'writes forwarded across a ring change');
  lines.push('# TYPE shoal_transfer_partitions_pending gauge', `shoal_transfer_partitions_pending ${t.partitions - t.partitionsDone}`);
  return lines.join('\n') + '\n';
}

export function statusName(s: MemberStatus): string {
  return ['alive', 'suspect', 'dead', 'left'][s] ?? 'unknown';
}
