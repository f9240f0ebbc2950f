// `shoal start` configuration: flags, or a JSON file with the same keys (flags win).
// Every problem is collected and reported together; the caller exits with code 2.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseSpeculativeRetry, type QuorumScope, type SpeculativeRetry } from '../coordinator/index.js';
import { type DcReplication, checkDcReplication, parseDcReplication, replicationTotal } from '../ring/index.js';
import { CLIENT_NAME } from '../transport/index.js';

export interface StartConfig {
  id: string | undefined;
  host: string;
  port: number;
  httpPort: number;
  data: string;
  seeds: string[];
  dc: string;
  rack: string;
  capacity: number;
  n: number;
  /** Replicas per data centre (--replication dc1:3,dc2:3); n is then their sum. */
  replication: DcReplication | undefined;
  /** Which replicas R and W count by default: local (this dc's; the default with --replication) or global. */
  quorumScope: QuorumScope;
  r: number;
  w: number;
  partitions: number;
  clusterKeyFile: string;
  /** TLS on the TCP port: PEM files of this node's certificate chain, its key, and the cluster's CA ('' = no TLS). */
  tlsCert: string;
  tlsKey: string;
  tlsCa: string;
  profile: 'lan' | 'fast';
  sync: boolean;
  maxKeyBytes: number;
  maxValueBytes: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** Do not join the ring on first start; wait for `shoal admin join`. */
  noJoin: boolean;
  /** Anti-entropy overrides of the profile (undefined: the profile's value). */
  aeIntervalMs: number | undefined;
  aePartitionsPerRound: number | undefined;
  aeBytesPerSec: number | undefined;
  transferBytesPerSec: number | undefined;
  handoverGraceMs: number | undefined;
  /** Hinted handoff: hints older than this are dropped (anti-entropy repairs what they held). */
  hintMaxAgeMs: number | undefined;
  /** Hinted handoff: hints a node holds at most; new ones beyond are refused (and counted). */
  maxHints: number | undefined;
  /** Hinted handoff: bytes per second this node delivers hints at most (undefined: no limit). */
  hintBytesPerSec: number | undefined;
  /** Hinted handoff: reply delay beyond the owner's fastest at which batches yield (undefined: 20 ms; 0: never). */
  hintTargetDelayMs: number | undefined;
  /** Reads: a "not found" reply counts towards R at once (Riak's notfound_ok); default off. */
  notFoundOk: boolean;
  /** Reads: ask every replica (all) or only R, more when needed (quorum); default all. */
  readFanout: 'all' | 'quorum';
  /** With --read-fanout quorum: when to ask one more replica; default 99p. */
  speculativeRetry: SpeculativeRetry;
  /** Client token names refused at the handshake. */
  revokedClients: string[];
  /** The HTTP API wants a bearer credential (cluster key, or a client token for /kv/). */
  httpAuth: boolean;
  /** The HTTP API speaks HTTPS with the --tls-cert certificate. */
  httpTls: boolean;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

const DEFAULTS: Omit<StartConfig, 'clusterKeyFile' | 'id'> = {
  host: '127.0.0.1',
  port: 7400,
  httpPort: 7480,
  data: './shoal-data',
  seeds: [],
  dc: 'dc1',
  rack: 'rack1',
  capacity: 1,
  n: 3,
  replication: undefined,
  quorumScope: 'global',
  r: 2,
  w: 2,
  partitions: 256,
  tlsCert: '',
  tlsKey: '',
  tlsCa: '',
  profile: 'lan',
  sync: false,
  maxKeyBytes: 1024,
  maxValueBytes: 1024 * 1024,
  logLevel: 'info',
  noJoin: false,
  aeIntervalMs: undefined,
  aePartitionsPerRound: undefined,
  aeBytesPerSec: undefined,
  transferBytesPerSec: undefined,
  handoverGraceMs: undefined,
  hintMaxAgeMs: undefined,
  maxHints: undefined,
  hintBytesPerSec: undefined,
  hintTargetDelayMs: undefined,
  notFoundOk: false,
  readFanout: 'all',
  speculativeRetry: { kind: 'percentile', p: 99 },
  revokedClients: [],
  httpAuth: false,
  httpTls: false,
};

type Kind = 'string' | 'int' | 'list' | 'bool' | 'speculation' | 'replication';

/** Flag name → [config field, kind]. The JSON file uses the same flag names. */
const KEYS: Record<string, [keyof StartConfig, Kind]> = {
  id: ['id', 'string'],
  host: ['host', 'string'],
  port: ['port', 'int'],
  'http-port': ['httpPort', 'int'],
  data: ['data', 'string'],
  seeds: ['seeds', 'list'],
  dc: ['dc', 'string'],
  rack: ['rack', 'string'],
  capacity: ['capacity', 'int'],
  n: ['n', 'int'],
  replication: ['replication', 'replication'],
  'quorum-scope': ['quorumScope', 'string'],
  r: ['r', 'int'],
  w: ['w', 'int'],
  partitions: ['partitions', 'int'],
  'cluster-key-file': ['clusterKeyFile', 'string'],
  'tls-cert': ['tlsCert', 'string'],
  'tls-key': ['tlsKey', 'string'],
  'tls-ca': ['tlsCa', 'string'],
  profile: ['profile', 'string'],
  sync: ['sync', 'bool'],
  'max-key-bytes': ['maxKeyBytes', 'int'],
  'max-value-bytes': ['maxValueBytes', 'int'],
  'log-level': ['logLevel', 'string'],
  'no-join': ['noJoin', 'bool'],
  'ae-interval-ms': ['aeIntervalMs', 'int'],
  'ae-partitions-per-round': ['aePartitionsPerRound', 'int'],
  'ae-bytes-per-sec': ['aeBytesPerSec', 'int'],
  'transfer-bytes-per-sec': ['transferBytesPerSec', 'int'],
  'handover-grace-ms': ['handoverGraceMs', 'int'],
  'hint-max-age-ms': ['hintMaxAgeMs', 'int'],
  'max-hints': ['maxHints', 'int'],
  'hint-bytes-per-sec': ['hintBytesPerSec', 'int'],
  'hint-target-delay-ms': ['hintTargetDelayMs', 'int'],
  'notfound-ok': ['notFoundOk', 'bool'],
  'read-fanout': ['readFanout', 'string'],
  'speculative-retry': ['speculativeRetry', 'speculation'],
  'revoked-clients': ['revokedClients', 'list'],
  'http-auth': ['httpAuth', 'bool'],
  'http-tls': ['httpTls', 'bool'],
};

export const START_USAGE = `Usage: shoal start [options]

  --config FILE            JSON file with any of the keys below (flags win)
  --id ID                  node id (default: the one stored in --data, else generated)
  --host ADDR              bind and advertise address (default 127.0.0.1)
  --port N                 TCP for peers and clients, and UDP gossip (default 7400; 0 picks one)
  --http-port N            HTTP API; 0 disables (default 7480)
  --http-auth              the HTTP API wants Authorization: Bearer <cluster key> (or a
                           client token, for /kv/ only); /health stays open
  --http-tls               the HTTP API speaks HTTPS, with the --tls-cert certificate
  --data DIR               data folder (default ./shoal-data)
  --seeds H:P,H:P          nodes to join through (none: found a new cluster)
  --dc NAME --rack NAME    placement for replica spreading (default dc1 / rack1)
  --capacity N             relative share of the data (default 1)
  --n N --r N --w N        replication factor and default quorums (default 3 / 2 / 2)
  --replication DC:N,...   replicas per data centre instead of --n, e.g. dc1:3,dc2:3
                           (same on every node; nodes of other dcs hold no replicas)
  --quorum-scope S         which replicas --r and --w count: local (this node's dc,
                           the default with --replication; other dcs are written
                           behind the reply) or global (any replica)
  --notfound-ok            a replica's "not found" counts towards R at once (Riak's
                           notfound_ok); default: only once every replica answered
  --read-fanout all|quorum which replicas a get asks: all N (default), or R of them and
                           more only on a failure, a "not found" or a slow reply
  --speculative-retry S    with --read-fanout quorum, when a slow read asks one more
                           replica: 99p (a percentile of recent reads; default),
                           20ms (fixed), or none
  --partitions Q           partitions, a power of two, same on every node (default 256)
  --cluster-key-file FILE  the cluster key (create one with: shoal keygen > FILE)
  --revoked-clients A,B    client token names to refuse (tokens: shoal token <name>)
  --tls-cert FILE --tls-key FILE --tls-ca FILE
                           TLS on the TCP port, for peers and clients (PEM: this node's
                           certificate chain, its key, the CA that signed every node's);
                           all three or none, and every node alike
  --profile lan|fast       membership timing (fast: loopback clusters and tests)
  --sync                   fsync every write batch (survives machine crashes)
  --max-key-bytes N        (default 1024)   --max-value-bytes N (default 1048576)
  --log-level LEVEL        debug, info, warn, error, silent (default info)
  --no-join                do not join the ring on first start: wait for \`shoal admin join <seed>\`

  Anti-entropy and ownership transfer (defaults from --profile; docs/operations.md):
  --ae-interval-ms N       time between exchange rounds; 0 turns scheduled exchanges off
  --ae-partitions-per-round N   partitions repaired per round at most
  --ae-bytes-per-sec N     bandwidth of anti-entropy exchanges
  --transfer-bytes-per-sec N    bandwidth of ownership transfers into this node
  --handover-grace-ms N    forwarding to old replicas after a ring change completes
  --hint-max-age-ms N      hints older than this are dropped, left to anti-entropy (default 3 h)
  --max-hints N            hints a node holds at most; new ones beyond are refused and
                           counted, left to anti-entropy (default 1000000)
  --hint-bytes-per-sec N   bandwidth of hint delivery from this node (default: no limit;
                           a limit spares live requests, a returning node stays stale longer)
  --hint-target-delay-ms N hint batches yield to an owner that answers them more than N ms
                           later than its fastest reply (default 20; 0: never yield)
`;

/** Parses `shoal start` arguments; throws ConfigError listing every problem. */
export function parseStartArgs(argv: string[], readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): StartConfig {
  const options: Record<string, { type: 'string' | 'boolean' }> = { config: { type: 'string' } };
  for (const [flag, [, kind]] of Object.entries(KEYS)) options[flag] = { type: kind === 'bool' ? 'boolean' : 'string' };
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (err) {
    throw new ConfigError([(err as Error).message]);
  }
  const problems: string[] = [];
  if (parsed.positionals.length > 0) problems.push(`unexpected argument "${parsed.positionals[0]}"`);
  const raw: Record<string, unknown> = {};
  const file = parsed.values['config'];
  if (typeof file === 'string') {
    try {
      const json: unknown = JSON.parse(readFile(file));
      if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('it must hold a JSON object');
      for (const [k, v] of Object.entries(json)) {
        if (!(k in KEYS)) problems.push(`${file}: unknown key "${k}"`);
        else raw[k] = v;
      }
    } catch (err) {
      problems.push(`cannot read --config ${file}: ${(err as Error).message}`);
    }
  }
  for (const flag of Object.keys(KEYS)) {
    const v = parsed.values[flag];
    if (v !== undefined) raw[flag] = v;
  }
  const cfg: Record<string, unknown> = { ...DEFAULTS, id: undefined, clusterKeyFile: '' };
  for (const [flag, v] of Object.entries(raw)) {
    const [field, kind] = KEYS[flag]!;
    const value = convert(flag, kind, v, problems);
    if (value !== undefined) cfg[field] = value;
  }
  const c = cfg as unknown as StartConfig;
  const check = (ok: boolean, msg: string) => ok || problems.push(msg);
  if (c.replication !== undefined) {
    const total = replicationTotal(c.replication);
    check(raw['n'] === undefined || c.n === total, `--n (${c.n}) and --replication (${total} replicas in all) disagree: give one of them`);
    c.n = total;
    if (raw['quorum-scope'] === undefined) c.quorumScope = 'local';
  }
  check(c.quorumScope === 'local' || c.quorumScope === 'global', `--quorum-scope must be local or global, got ${c.quorumScope}`);
  if (c.quorumScope === 'local') {
    const here = c.replication?.[c.dc];
    if (c.replication === undefined) problems.push('--quorum-scope local needs --replication (replicas per data centre)');
    else if (here === undefined) problems.push(`--quorum-scope local: --replication places no replicas in this node's dc (${c.dc})`);
    else {
      check(c.r <= here, `--r (${c.r}) must not exceed the replicas in this dc (${c.dc}: ${here}) with --quorum-scope local`);
      check(c.w <= here, `--w (${c.w}) must not exceed the replicas in this dc (${c.dc}: ${here}) with --quorum-scope local`);
    }
  }
  check(c.port >= 0 && c.port <= 65535, `--port must be from 0 (pick a free one) to 65535, got ${c.port}`);
  check(c.httpPort >= 0 && c.httpPort <= 65535, `--http-port must be from 0 to 65535, got ${c.httpPort}`);
  check(c.httpPort === 0 || c.httpPort !== c.port, '--http-port must differ from --port');
  check(c.n >= 1 && c.n <= 16, `--n must be from 1 to 16, got ${c.n}`);
  check(c.r >= 1 && c.r <= c.n, `--r must be from 1 to n (${c.n}), got ${c.r}`);
  check(c.w >= 1 && c.w <= c.n, `--w must be from 1 to n (${c.n}), got ${c.w}`);
  check(c.capacity >= 1 && c.capacity <= 1000, `--capacity must be from 1 to 1000, got ${c.capacity}`);
  check(c.partitions >= 1 && c.partitions <= 4096 && (c.partitions & (c.partitions - 1)) === 0, `--partitions must be a power of two from 1 to 4096, got ${c.partitions}`);
  check(c.maxKeyBytes >= 1 && c.maxKeyBytes <= 65536, `--max-key-bytes must be from 1 to 65536, got ${c.maxKeyBytes}`);
  check(c.maxValueBytes >= 1 && c.maxValueBytes <= 64 * 1024 * 1024, `--max-value-bytes must be from 1 to 67108864, got ${c.maxValueBytes}`);
  check(c.profile === 'lan' || c.profile === 'fast', `--profile must be lan or fast, got ${c.profile}`);
  check(c.readFanout === 'all' || c.readFanout === 'quorum', `--read-fanout must be all or quorum, got ${c.readFanout}`);
  check(['debug', 'info', 'warn', 'error', 'silent'].includes(c.logLevel), `--log-level must be debug, info, warn, error or silent, got ${c.logLevel}`);
  check(c.clusterKeyFile !== '', '--cluster-key-file is required (create a key with: shoal keygen > cluster.key)');
  check(c.id === undefined || /^[A-Za-z0-9._:-]{1,128}$/.test(c.id), `--id must be 1 to 128 letters, digits or . _ : -, got "${c.id}"`);
  check(c.host !== '', '--host must not be empty');
  const tlsGiven = [c.tlsCert, c.tlsKey, c.tlsCa].filter((f) => f !== '').length;
  check(tlsGiven === 0 || tlsGiven === 3, '--tls-cert, --tls-key and --tls-ca go together: give all three, or none');
  check(!c.httpTls || tlsGiven === 3, '--http-tls needs --tls-cert, --tls-key and --tls-ca (its certificate)');
  for (const name of c.revokedClients) check(CLIENT_NAME.test(name), `--revoked-clients: "${name}" is not a client name (1 to 64 letters, digits, _ or -)`);
  for (const s of c.seeds) check(/^[^\s]+:\d{1,5}$/.test(s), `--seeds: "${s}" is not host:port`);
  const nonNegative = (v: number | undefined, flag: string) => check(v === undefined || v >= 0, `--${flag} must not be negative, got ${v}`);
  const positive = (v: number | undefined, flag: string) => check(v === undefined || v >= 1, `--${flag} must be at least 1, got ${v}`);
  nonNegative(c.aeIntervalMs, 'ae-interval-ms');
  nonNegative(c.handoverGraceMs, 'handover-grace-ms');
  positive(c.aePartitionsPerRound, 'ae-partitions-per-round');
  positive(c.hintMaxAgeMs, 'hint-max-age-ms');
  nonNegative(c.maxHints, 'max-hints');
  positive(c.aeBytesPerSec, 'ae-bytes-per-sec');
  positive(c.transferBytesPerSec, 'transfer-bytes-per-sec');
  positive(c.hintBytesPerSec, 'hint-bytes-per-sec');
  nonNegative(c.hintTargetDelayMs, 'hint-target-delay-ms');
  if (problems.length > 0) throw new ConfigError(problems);
  return c;
}

function convert(flag: string, kind: Kind, v: unknown, problems: string[]): unknown {
  switch (kind) {
    case 'bool':
      if (typeof v === 'boolean') return v;
      problems.push(`--${flag} must be true or false`);
      return undefined;
    case 'int': {
      const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : NaN;
      if (Number.isSafeInteger(n)) return n;
      problems.push(`--${flag} must be a whole number, got "${String(v)}"`);
      return undefined;
    }
    case 'speculation':
      try {
        if (typeof v === 'string') return parseSpeculativeRetry(v);
        problems.push(`--${flag} must be text like 99p, 20ms or none`);
      } catch (err) {
        problems.push(`--${flag}: ${(err as Error).message}`);
      }
      return undefined;
    case 'replication':
      try {
        if (typeof v === 'string') return parseDcReplication(v);
        if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
          checkDcReplication(v as DcReplication);
          return { ...(v as DcReplication) };
        }
        problems.push(`--${flag} must be dc:count pairs like dc1:3,dc2:3 (or, in a file, an object like {"dc1": 3})`);
      } catch (err) {
        problems.push(`--${flag}: ${(err as Error).message}`);
      }
      return undefined;
    case 'list':
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
      if (typeof v === 'string') return v.split(',').map((s) => s.trim()).filter((s) => s !== '');
      problems.push(`--${flag} must be a comma-separated list`);
      return undefined;
    default:
      if (typeof v === 'string') return v;
      problems.push(`--${flag} must be text`);
      return undefined;
  }
}
