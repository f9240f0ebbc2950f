// `shoal admin join|leave|remove` and `shoal status`: talk to one node over its
// HTTP API (POST /admin/*, GET /status). Exit codes: 0 done, 1 the node refused
// or could not be reached, 2 bad usage.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { CoordinatorStats } from '../coordinator/index.js';
import type { StoreStats } from '../storage/index.js';
import { formatReplication } from '../ring/index.js';
import { ConfigError } from './config.js';
import { type HttpAccess, requestJson } from './http-request.js';
import { readKeyFile } from './key-file.js';

export const ADMIN_USAGE = `Usage:
  shoal admin join <seed-host:port>   a node started with --no-join joins the cluster of <seed>
  shoal admin leave [id]              this node (or node <id>) hands its partitions over and leaves
  shoal admin remove <id>             take out a dead node that will never return
  shoal status                        the node's view: members, ring, transfers, anti-entropy

Options:
  --http HOST:PORT   the node's HTTP API (default 127.0.0.1:7480; https://HOST:PORT for --http-tls)
  --wait             admin: wait until the ring change has completed, printing progress
  --timeout-ms N     with --wait, give up after N ms (default 600000)
  --json             status: print the raw JSON
  --cluster-key-file FILE   send the cluster key (a node started with --http-auth wants it)
  --tls-ca FILE      with --http https://HOST:PORT (a node started with --http-tls): the CA to trust
`;

export interface Status {
  id: string;
  address: string;
  members: Array<{ id: string; address: string; status: string; ring?: string }>;
  ring: null | {
    version: number;
    partitions: number;
    nodes: string[];
    owned: number;
    role: string;
    pending: null | { joining: string[]; leaving: string[]; ready: string[]; waitingFor: string[]; replicaMoves: number };
  };
  // delivered and the rest: absent from nodes older than them.
  hints: { pending: number; delivered?: number; batches?: number; failed?: number; expired?: number; refused?: number; yieldedMs?: number };
  antiEntropy?: { rounds: number; rootsCompared: number; rootsDiffering: number; keysPushed: number; keysPulled: number; bytesSent: number; bytesReceived: number; trees: { held: number; ready: number } };
  transfer?: { state: string; partitions: number; partitionsDone: number; keysReceived: number; bytesReceived: number; intent: string; forwarded: number; graceLeftMs: number; dropped: { partitions: number; keys: number } };
  // Absent from nodes older than these fields.
  coordinator?: Pick<CoordinatorStats, 'gets' | 'puts' | 'deletes' | 'replicaReads' | 'readRepairs' | 'speculativeReads' | 'quorumFailures' | 'timeouts'>;
  storage?: Pick<StoreStats, 'keyFilter'>;
  replication?: { n: number; perDc: Record<string, number> | null; quorumScope: string; dc: string; mismatched?: Record<string, string> };
}

type Out = (line: string) => void;

export async function runAdmin(argv: string[], out: Out = (l) => process.stdout.write(l + '\n'), err: Out = (l) => process.stderr.write(l + '\n')): Promise<number> {
  const parsed = parse(argv, err);
  if (parsed === undefined) return 2;
  const { action, arg, base, wait, timeoutMs, access } = parsed;
  if (action === 'help') {
    out(ADMIN_USAGE);
    return 0;
  }
  const body = action === 'join' ? { seed: arg } : { id: arg };
  if ((action === 'join' || action === 'remove') && arg === undefined) {
    err(`shoal admin ${action}: missing ${action === 'join' ? '<seed-host:port>' : '<id>'}\n\n${ADMIN_USAGE}`);
    return 2;
  }
  let before: Status;
  try {
    before = await getJson<Status>(`${base}/status`, access);
    await call(`${base}/admin/${action}`, body, access);
  } catch (e) {
    err(`shoal admin ${action}: ${(e as Error).message}`);
    return 1;
  }
  const target = action === 'join' ? before.id : (arg ?? before.id);
  out(`shoal admin ${action}: ${action === 'join' ? `${target} joins through ${arg}` : `${target} ${action === 'leave' ? 'leaves' : 'is removed'}`}; the change is staged`);
  if (!wait) return 0;
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    let st: Status | undefined;
    try {
      st = await getJson<Status>(`${base}/status`, access);
    } catch {
      // a leaving node stops serving when it is done
      if (action === 'leave' && target === before.id) {
        out('done: the node has left');
        return 0;
      }
    }
    if (st !== undefined) {
      const ring = st.ring;
      const inRing = ring?.nodes.includes(target) ?? false;
      const finished = ring !== null && ring.pending === null && (action === 'join' ? inRing : !inRing);
      const line = progressLine(st);
      if (line !== last) out(line);
      last = line;
      if (finished) {
        out(`done: ring v${ring.version}, ${ring.nodes.length} nodes`);
        return 0;
      }
    }
    if (Date.now() > deadline) {
      err(`shoal admin ${action}: still not done after ${timeoutMs} ms`);
      return 1;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function runStatus(argv: string[], out: Out = (l) => process.stdout.write(l + '\n'), err: Out = (l) => process.stderr.write(l + '\n')): Promise<number> {
  let values: { http?: string; json?: boolean; help?: boolean; 'cluster-key-file'?: string; 'tls-ca'?: string };
  try {
    values = parseArgs({
      args: argv,
      options: {
        http: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        'cluster-key-file': { type: 'string' },
        'tls-ca': { type: 'string' },
      },
      strict: true,
    }).values;
  } catch (e) {
    err(`shoal status: ${(e as Error).message}\n\n${ADMIN_USAGE}`);
    return 2;
  }
  if (values.help) {
    out(ADMIN_USAGE);
    return 0;
  }
  const base = baseUrl(values.http);
  if (base === undefined) {
    err('shoal status: --http must be HOST:PORT');
    return 2;
  }
  let st: Status;
  try {
    st = await getJson<Status>(`${base}/status`, accessOf(values['cluster-key-file'], values['tls-ca']));
  } catch (e) {
    err(`shoal status: ${(e as Error).message}`);
    return 1;
  }
  if (values.json) {
    out(JSON.stringify(st, null, 2));
    return 0;
  }
  for (const line of describe(st)) out(line);
  return 0;
}

/** A human summary of a node's status. */
export function describe(st: Status): string[] {
  const lines: string[] = [];
  const ring = st.ring;
  lines.push(
    ring
      ? `node ${st.id} (${st.address}): ring v${ring.version}, ${ring.partitions} partitions, owns ${ring.owned}, ${ring.role}`
      : `node ${st.id} (${st.address}): no ring known yet`,
  );
  const r = st.replication;
  if (r) {
    lines.push(
      r.perDc === null
        ? `replication: ${r.n} replicas; this node is in ${r.dc}`
        : `replication: ${formatReplication(r.perDc)} (${r.n} replicas), ${r.quorumScope} quorums by default; this node is in ${r.dc}`,
    );
    const odd = Object.entries(r.mismatched ?? {});
    if (odd.length > 0) {
      lines.push(`WARNING: members with another replication (reads will miss writes): ${odd.map(([id, theirs]) => `${id} (${theirs})`).join(', ')}`);
    }
  }
  lines.push('members:');
  for (const m of st.members) lines.push(`  ${m.id.padEnd(16)} ${m.status.padEnd(8)} ${(m.ring ?? '').padEnd(8)} ${m.address}`);
  lines.push(progressLine(st));
  const ae = st.antiEntropy;
  if (ae) {
    lines.push(
      `anti-entropy: ${ae.trees.ready}/${ae.trees.held} trees ready, ${ae.rounds} rounds, ${ae.rootsCompared} roots compared (${ae.rootsDiffering} differing), ` +
        `${ae.keysPushed} keys pushed, ${ae.keysPulled} pulled, ${mb(ae.bytesSent + ae.bytesReceived)} shipped`,
    );
  }
  const h = st.hints;
  lines.push(
    h.delivered === undefined
      ? `hints: ${h.pending} pending`
      : `hints: ${h.pending} pending; ${h.delivered} delivered (${h.batches ?? 0} batched requests), ${h.failed ?? 0} failed deliveries, ` +
          `${h.expired ?? 0} expired, ${h.refused ?? 0} refused` +
          (h.yieldedMs !== undefined && h.yieldedMs > 0 ? `; waited ${(h.yieldedMs / 1000).toFixed(1)} s for busy owners` : ''),
  );
  const c = st.coordinator;
  if (c) {
    lines.push(
      `requests coordinated: ${c.gets} gets, ${c.puts} puts, ${c.deletes} deletes; ${c.replicaReads} replica reads answered; ` +
        `${c.readRepairs} read repairs, ${c.speculativeReads} speculative reads; ${c.quorumFailures} quorum failures, ${c.timeouts} timeouts`,
    );
  }
  const f = st.storage?.keyFilter;
  if (f) {
    const state = f.ready ? (f.restored ? 'ready (kept from the last clean stop)' : 'ready') : f.errors > 0 ? 'unused (its scan failed)' : 'scanning the keys on disk';
    lines.push(`key filter: ${state}, ${f.keys} keys in ${mb(f.bytes)}, ${f.skips} reads skipped`);
  }
  return lines;
}

function progressLine(st: Status): string {
  const p = st.ring?.pending;
  const t = st.transfer;
  const parts: string[] = [];
  if (p) {
    const what = [p.joining.length ? `joining ${p.joining.join(', ')}` : '', p.leaving.length ? `leaving ${p.leaving.join(', ')}` : ''].filter(Boolean).join('; ');
    parts.push(`change pending (${what}): ${p.replicaMoves} replica moves, waiting for ${p.waitingFor.length ? p.waitingFor.join(', ') : 'completion'}`);
  } else {
    parts.push('no change pending');
  }
  if (t && t.partitions > 0) parts.push(`this node received ${t.partitionsDone}/${t.partitions} partitions (${t.keysReceived} keys, ${mb(t.bytesReceived)})`);
  if (t && t.graceLeftMs > 0) parts.push(`forwarding to old replicas for ${Math.ceil(t.graceLeftMs / 1000)} s more`);
  if (t && t.dropped.partitions > 0) parts.push(`dropped ${t.dropped.partitions} partitions no longer replicated (${t.dropped.keys} keys)`);
  return parts.join('; ');
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function parse(
  argv: string[],
  err: Out,
): { action: 'join' | 'leave' | 'remove' | 'help'; arg: string | undefined; base: string; wait: boolean; timeoutMs: number; access: HttpAccess } | undefined {
  let parsed: { values: { http?: string; wait?: boolean; 'timeout-ms'?: string; help?: boolean; 'cluster-key-file'?: string; 'tls-ca'?: string }; positionals: string[] };
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        http: { type: 'string' },
        wait: { type: 'boolean' },
        'timeout-ms': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        'cluster-key-file': { type: 'string' },
        'tls-ca': { type: 'string' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    err(`shoal admin: ${(e as Error).message}\n\n${ADMIN_USAGE}`);
    return undefined;
  }
  const [action, arg, extra] = parsed.positionals;
  if (parsed.values.help || action === undefined || action === 'help') return { action: 'help', arg: undefined, base: '', wait: false, timeoutMs: 0, access: {} };
  if (action !== 'join' && action !== 'leave' && action !== 'remove') {
    err(`shoal admin: unknown action "${action}"\n\n${ADMIN_USAGE}`);
    return undefined;
  }
  if (extra !== undefined) {
    err(`shoal admin: unexpected argument "${extra}"`);
    return undefined;
  }
  const base = baseUrl(parsed.values.http);
  const timeoutMs = Number(parsed.values['timeout-ms'] ?? 600_000);
  if (base === undefined || !Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) {
    err('shoal admin: --http must be HOST:PORT and --timeout-ms a positive whole number');
    return undefined;
  }
  let access: HttpAccess;
  try {
    access = accessOf(parsed.values['cluster-key-file'], parsed.values['tls-ca']);
  } catch (e) {
    err(`shoal admin: ${(e as Error).message}`);
    return undefined;
  }
  return { action, arg, base, wait: parsed.values.wait === true, timeoutMs, access };
}

/** How to reach the node: the key file's primary key as a bearer credential, the CA for https. Throws when a file is bad. */
function accessOf(keyFile: string | undefined, caFile: string | undefined): HttpAccess {
  const access: HttpAccess = {};
  try {
    if (keyFile !== undefined) access.authorization = `Bearer ${readKeyFile(keyFile)[0]!.toString('hex')}`;
  } catch (e) {
    throw new Error(e instanceof ConfigError ? e.problems.join('; ') : (e as Error).message);
  }
  if (caFile !== undefined) {
    try {
      access.ca = readFileSync(caFile);
    } catch (e) {
      throw new Error(`cannot read --tls-ca ${caFile}: ${(e as Error).message}`);
    }
  }
  return access;
}

/** host:port (http) or http(s)://host:port as a base URL; undefined when it is neither. */
function baseUrl(http: string | undefined): string | undefined {
  const hp = http ?? '127.0.0.1:7480';
  if (/^https?:\/\/[^\s/:]+:\d{1,5}\/?$/.test(hp)) return hp.replace(/\/$/, '');
  return /^[^\s/:]+:\d{1,5}$/.test(hp) ? `http://${hp}` : undefined;
}

async function getJson<T>(url: string, access: HttpAccess): Promise<T> {
  const res = await requestJson(url, access, { timeoutMs: 10_000 }).catch((e: unknown) => {
    throw new Error(`cannot reach ${url}: ${(e as Error).message}`);
  });
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}${res.status === 401 ? ' (the node wants --cluster-key-file)' : ''}`);
  return res.json as T;
}

async function call(url: string, body: unknown, access: HttpAccess): Promise<unknown> {
  const res = await requestJson(url, access, { method: 'POST', body, timeoutMs: 30_000 }).catch((e: unknown) => {
    throw new Error(`cannot reach ${url}: ${(e as Error).message}`);
  });
  const json = (res.json ?? {}) as { error?: { code: string; message: string } };
  if (res.status !== 200) throw new Error(json.error ? `${json.error.message} (${json.error.code})` : `${url} answered ${res.status}`);
  return json;
}
