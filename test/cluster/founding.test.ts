// A new cluster whose nodes all list the same seeds (the deploy/ example) comes up
// with one ring: the first seed founds it, the others join, whatever the start order.
import { afterEach, describe, expect, it } from 'vitest';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../src/paths.js';
import { freePort, waitFor } from '../support/cluster.js';

const children: ChildProcess[] = [];
let dir: string | undefined;

afterEach(async () => {
  await Promise.all(
    children.splice(0).map(
      (c) =>
        new Promise<void>((r) => {
          if (c.exitCode !== null || c.signalCode !== null) return r();
          c.once('exit', () => r());
          c.kill('SIGTERM');
        }),
    ),
  );
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('founding a cluster from a shared seed list', () => {
  it('the first seed founds the ring and every node joins it, even when the founder starts last', async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-found-'));
    await writeFile(join(dir, 'key'), randomBytes(32).toString('hex'));
    const nodes: Array<{ id: string; port: number; http: number }> = [];
    for (let i = 1; i <= 3; i++) nodes.push({ id: `f${i}`, port: await freePort(), http: await freePort() });
    const seeds = nodes.map((n) => `127.0.0.1:${n.port}`).join(',');
    const exited: string[] = [];
    // Start order f3, f2, f1: the founder (first seed) comes last.
    for (const n of [...nodes].reverse()) {
      const args = [join(packageRoot(), 'dist/src/cli/main.js'), 'start', '--id', n.id, '--port', String(n.port), '--http-port', String(n.http)];
      args.push('--data', join(dir, n.id), '--cluster-key-file', join(dir, 'key'), '--profile', 'fast', '--log-level', 'warn', '--partitions', '64', '--seeds', seeds);
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      const stderr: string[] = [];
      child.stderr!.on('data', (b: Buffer) => stderr.push(b.toString()));
      child.once('exit', (code, sig) => exited.push(`${n.id} exited (${code ?? sig}): ${stderr.join('').slice(-2000)}`));
      children.push(child);
    }
    const rings = await waitFor(
      'one ring with all three nodes',
      async () => {
        // A node that died (a port taken after all) is named, with its last words, in the failure.
        if (exited.length > 0) throw new Error(exited.join('\n'));
        const all = await Promise.all(
          nodes.map(async (n) => ((await (await fetch(`http://127.0.0.1:${n.http}/status`)).json()) as { ring: { checksum: string; nodes: string[] } | null }).ring),
        );
        return all.every((r) => r !== null && r.nodes.length === 3) && new Set(all.map((r) => r!.checksum)).size === 1 ? all : undefined;
      },
      // Inside the test's own 60 s, so that a failure reports what it waited for.
      50_000,
    );
    expect(rings[0]!.nodes).toEqual(['f1', 'f2', 'f3']);
  });
});
