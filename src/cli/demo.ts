// `shoal demo` (what `npm start` runs): a local 3-node cluster on loopback with
// embedded defaults, in separate processes, and a short tour of what Dynamo-style
// replication does: writes, siblings and their resolution, a node killed while
// writes continue, and the node coming back and catching up.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client } from '../client/index.js';
import { clientKey, formatToken, parseKey } from '../transport/index.js';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

interface Proc {
  id: string;
  port: number;
  httpPort: number;
  child: ChildProcess | undefined;
}

interface Status {
  members: Array<{ id: string; status: string }>;
  ring: { version: number; nodes: string[]; checksum: string; pending: unknown } | null;
  hints: { pending: number };
}

export async function runDemo(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'base-port': { type: 'string', default: '7401' },
      data: { type: 'string', default: '.shoal/demo' },
      exit: { type: 'boolean', default: false },
      nodes: { type: 'string', default: '3' },
    },
    strict: true,
  });
  const base = Number(values['base-port']);
  const count = Number(values.nodes);
  if (!(base > 0 && base < 65000) || !(count >= 3 && count <= 9)) {
    process.stderr.write('shoal demo: --base-port must be 1..64999 and --nodes 3..9\n');
    return 2;
  }
  const dir = resolve(values.data!);
  mkdirSync(dir, { recursive: true });
  const keyFile = join(dir, 'cluster.key');
  if (!existsSync(keyFile)) writeFileSync(keyFile, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  const key = readFileSync(keyFile, 'utf8').trim();

  const procs: Proc[] = Array.from({ length: count }, (_, i) => ({ id: `demo-${i + 1}`, port: base + i, httpPort: base + 80 + i, child: undefined }));
  const seed = `127.0.0.1:${procs[0]!.port}`;
  const start = (p: Proc) => {
    const args = [MAIN, 'start', '--id', p.id, '--port', String(p.port), '--http-port', String(p.httpPort), '--data', join(dir, p.id)];
    args.push('--cluster-key-file', keyFile, '--profile', 'fast', '--log-level', 'warn');
    if (p !== procs[0]) args.push('--seeds', seed);
    p.child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  };
  const stopAll = async () => {
    await Promise.all(
      procs.map(
        (p) =>
          new Promise<void>((done) => {
            const c = p.child;
            if (!c || c.exitCode !== null || c.signalCode !== null) return done();
            c.once('exit', () => done());
            c.kill('SIGTERM');
          }),
      ),
    );
  };
  const say = (s: string) => process.stdout.write(s + '\n');
  let client: Client | undefined;
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
  };
  process.on('SIGINT', onSigint);
  try {
    say(`Starting ${count} nodes on 127.0.0.1 (data in ${dir}) ...`);
    for (const p of procs) start(p);
    await waitFor(() => converged(procs, count), 60_000, 'the cluster to converge');
    say('Cluster converged: every node sees every other alive and holds the same ring.\n');
    for (const p of procs) say(`  ${p.id}  peers/clients 127.0.0.1:${p.port}   HTTP http://127.0.0.1:${p.httpPort}/status`);
    say(`\n  try: curl -X PUT --data hello http://127.0.0.1:${procs[0]!.httpPort}/kv/greeting`);
    say(`       curl -i http://127.0.0.1:${procs[1]!.httpPort}/kv/greeting\n`);

    // A client token, as an application would hold (`shoal token demo --cluster-key-file …`).
    client = await Client.connect({ seeds: [seed], token: formatToken('demo', clientKey(parseKey(key), 'demo')) });
    say('1. Writes through the SDK (N=3, R=W=2), each sent straight to a replica of its key:');
    for (let i = 0; i < 200; i++) await client.put(`session:${i}`, `state-${i}`, { ttlMs: 30 * 60_000 });
    let ok = 0;
    for (let i = 0; i < 200; i++) if ((await client.get(`session:${i}`)).values[0]?.toString() === `state-${i}`) ok++;
    say(`   200 sessions written, ${ok} read back; ${client.stats.direct} of ${client.stats.requests} requests went straight to a replica.\n`);

    say('2. Two writers without a context create siblings; a write with the context resolves them:');
    // A key of this run's own: the data folder outlives runs, and blind writes to last
    // run's cart would become siblings of its value too.
    const cart = `cart:${randomBytes(4).toString('hex')}`;
    await Promise.all([client.put(cart, 'apples'), client.put(cart, 'pears')]);
    const both = await client.get(cart, { r: 3 });
    say(`   get → ${both.values.length} siblings: ${both.values.map((v) => v.toString()).join(', ')}`);
    await client.put(cart, 'apples+pears', { context: both.context });
    const merged = await client.get(cart, { r: 3 });
    say(`   after the reconciling write → ${merged.values.map((v) => v.toString()).join(', ')}\n`);

    const victim = procs[count - 1]!;
    say(`3. Killing ${victim.id} (SIGKILL) while writes continue:`);
    victim.child!.kill('SIGKILL');
    await new Promise((r) => victim.child!.once('exit', r));
    let written = 0;
    const during: string[] = [];
    for (let i = 0; i < 200; i++) {
      await client.put(`during:${i}`, `v${i}`);
      during.push(`during:${i}`);
      written++;
    }
    say(`   ${written} of 200 writes acknowledged with one node down (sloppy quorum; hints held for ${victim.id}).`);
    await waitFor(() => memberStatus(procs[0]!, victim.id).then((s) => s === 'dead' || s === 'suspect'), 30_000, `${victim.id} to be suspected`);

    say(`\n4. Restarting ${victim.id}; hinted handoff brings it up to date:`);
    start(victim);
    await waitFor(() => converged(procs, count), 60_000, 'the cluster to converge again');
    await waitFor(() => hintsPending(procs).then((n) => n === 0), 60_000, 'hints to be delivered');
    let caughtUp = 0;
    for (const k of during) if ((await client.get(k, { r: 3 })).values.length === 1) caughtUp++;
    say(`   all hints delivered; ${caughtUp} of ${during.length} keys written during the outage read back with r=3.\n`);

    if (values.exit || interrupted) return 0;
    say('The cluster keeps running. Press Ctrl-C to stop it.');
    await new Promise<void>((r) => {
      if (interrupted) return r();
      process.once('SIGINT', () => r());
    });
    return 0;
  } catch (err) {
    process.stderr.write(`shoal demo: ${(err as Error).message}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSigint);
    await client?.close();
    say('Stopping the cluster ...');
    await stopAll();
  }
}

async function status(p: Proc): Promise<Status | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${p.httpPort}/status`, { signal: AbortSignal.timeout(1000) });
    return res.ok ? ((await res.json()) as Status) : undefined;
  } catch {
    return undefined;
  }
}

async function converged(procs: Proc[], count: number): Promise<boolean> {
  const all = await Promise.all(procs.map(status));
  if (all.some((s) => s === undefined || s.ring === null)) return false;
  const sums = new Set(all.map((s) => s!.ring!.checksum));
  // Joins are staged ring changes: converged once the last one has completed everywhere.
  return (
    sums.size === 1 &&
    all.every((s) => s!.ring!.nodes.length === count && s!.ring!.pending === null && s!.members.filter((m) => m.status === 'alive').length === count)
  );
}

async function memberStatus(p: Proc, id: string): Promise<string | undefined> {
  return (await status(p))?.members.find((m) => m.id === id)?.status;
}

async function hintsPending(procs: Proc[]): Promise<number> {
  const all = await Promise.all(procs.map(status));
  return all.reduce((n, s) => n + (s?.hints.pending ?? 0), 0);
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}
