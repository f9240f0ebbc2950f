// `npm start` runs `shoal demo`: the README's first command. Real processes, real
// sockets; run twice on one data folder, as a user who tries it again would.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runShoal } from '../support/cluster.js';

let dir: string | undefined;
afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('shoal demo', () => {
  it('shows writes, siblings resolved, a node killed and caught up, and shows the same on a second run', async () => {
    dir = await mkdtemp(join(tmpdir(), 'shoal-demo-'));
    // Below the ephemeral range, so that other tests' sockets do not take the demo's fixed ports.
    const base = 10_000 + Math.floor(Math.random() * 20_000);
    for (let run = 1; run <= 2; run++) {
      const { code, stdout, stderr } = await runShoal(['demo', '--base-port', String(base), '--data', dir, '--exit']);
      expect(code, `run ${run}: ${stderr}`).toBe(0);
      expect(stdout).toContain('Cluster converged');
      expect(stdout).toContain('200 sessions written, 200 read back; 400 of 400 requests went straight to a replica.');
      // The second run's writers meet nothing of the first run's: still exactly two siblings.
      expect(stdout).toMatch(/get → 2 siblings: (apples, pears|pears, apples)\n/);
      expect(stdout).toContain('after the reconciling write → apples+pears\n');
      expect(stdout).toContain('200 of 200 writes acknowledged with one node down');
      expect(stdout).toContain('200 of 200 keys written during the outage read back with r=3.');
    }
  }, 180_000);
});
