// Members as separate processes on real sockets: the fixture member-process.ts is
// compiled once (tsc, without type checks) into a temporary folder inside the
// package, so that it runs the current sources, not a stale dist/.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemberStatus } from '../../src/codec/index.js';
import { deadDetectionBoundMs, fastProfile } from '../../src/membership/index.js';
import { packageRoot } from '../../src/paths.js';
import { Keyring } from '../../src/transport/index.js';
import { waitFor } from './support/real-node.js';

const root = packageRoot();
const period = fastProfile.probeIntervalMs;
let outDir = '';
let entry = '';

beforeAll(async () => {
  const cache = join(root, 'node_modules', '.cache');
  await mkdir(cache, { recursive: true });
  outDir = await mkdtemp(join(cache, 'shoal-member-process-'));
  // Under node_modules, Node would take .js for CommonJS without this.
  await writeFile(join(outDir, 'package.json'), '{ "type": "module" }\n');
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  await promisify(execFile)(process.execPath, [tsc, '-p', join(root, 'test', 'membership', 'fixtures', 'tsconfig.json'), '--outDir', outDir]);
  entry = join(outDir, 'test', 'membership', 'fixtures', 'member-process.js');
}, 120_000);

afterAll(async () => {
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

interface Child {
  id: string;
  proc: ChildProcess;
  port: number;
  checksum: string;
  members: Record<string, [MemberStatus, number]>;
  exited: Promise<void>;
  /** The tail of its stderr, for failure messages. */
  stderr: string;
  /** Set when it exited without being told to. */
  crashed?: string;
}

let children: Child[] = [];

afterEach(async () => {
  for (const c of children) c.crashed ??= 'stopped by the test';
  for (const c of children) c.proc.kill('SIGKILL');
  await Promise.all(children.map((c) => c.exited));
  children = [];
});

async function spawnMember(id: string, keyHex: string, seeds: string[]): Promise<Child> {
  const proc = spawn(process.execPath, [entry, JSON.stringify({ id, keyHex, seeds })], { stdio: ['pipe', 'pipe', 'pipe'] });
  const child: Child = {
    id,
    proc,
    port: 0,
    checksum: '',
    members: {},
    exited: new Promise((r) => proc.once('exit', () => r())),
    stderr: '',
  };
  proc.stderr!.on('data', (d: Buffer) => {
    child.stderr = (child.stderr + d.toString()).slice(-4000);
  });
  proc.once('exit', (code, signal) => {
    child.crashed ??= `${id} exited (${code ?? signal}): ${child.stderr}`;
  });
  children.push(child);
  const ready = new Promise<void>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`${id} exited early with ${code}`)));
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      const msg = JSON.parse(line) as { t: string; port?: number; checksum?: string; members?: Child['members'] };
      if (msg.t === 'ready') {
        child.port = msg.port!;
        resolve();
      } else if (msg.t === 'view') {
        child.checksum = msg.checksum!;
        child.members = msg.members!;
      }
    });
  });
  await ready;
  return child;
}

async function spawnCluster(n: number): Promise<Child[]> {
  const key = Keyring.random();
  const keyHex = (key as unknown as { primaryKey: Buffer }).primaryKey.toString('hex');
  const first = await spawnMember('p00', keyHex, []);
  const rest = await Promise.all(Array.from({ length: n - 1 }, (_, i) => spawnMember(`p${String(i + 1).padStart(2, '0')}`, keyHex, [`127.0.0.1:${first.port}`])));
  return [first, ...rest];
}

/** Throws with the child's stderr if any member process died unexpectedly. */
function checkAlive(cs: readonly Child[]): void {
  const dead = cs.find((c) => c.crashed !== undefined);
  if (dead) throw new Error(dead.crashed);
}

function converged(cs: readonly Child[], n: number): boolean {
  checkAlive(cs);
  return cs.every(
    (c) => c.checksum === cs[0]!.checksum && Object.values(c.members).length === n && Object.values(c.members).every(([s]) => s === MemberStatus.ALIVE),
  );
}

describe('membership across processes', () => {
  for (const n of [3, 10, 32]) {
    it(`${n} member processes converge to identical views`, async () => {
      const cs = await spawnCluster(n);
      await waitFor(() => converged(cs, n), 250 * period, `${n} processes converging`);
      expect(new Set(cs.map((c) => c.checksum)).size).toBe(1);
    }, 120_000);
  }

  it('a SIGKILLed member process is declared dead by every other within the protocol bound', async () => {
    const cs = await spawnCluster(5);
    await waitFor(() => converged(cs, 5), 250 * period, 'convergence');
    const victim = cs[2]!;
    const others = cs.filter((c) => c !== victim);
    victim.crashed = 'killed by the test';
    victim.proc.kill('SIGKILL');
    await victim.exited;
    await waitFor(() => (checkAlive(others), others.every((c) => c.members[victim.id]?.[0] === MemberStatus.DEAD)), deadDetectionBoundMs(fastProfile, 5), 'dead everywhere');
    // It stays in every view as dead; the others agree on everything.
    await waitFor(() => others.every((c) => c.checksum === others[0]!.checksum), 100 * period, 'agreement');
  }, 120_000);
});
