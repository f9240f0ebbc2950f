// A ring change reaches every member by push, not by the periodic push-pull: a
// joining node stages its join inside its first push-pull with the seed, before it
// knows any member to push the change to, and the seed's view then equals its own,
// so nothing else would tell the seed before the next push-pull. In-process nodes
// over real sockets, with push-pull every 10 minutes so that it cannot help.
import { mkdtemp, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ShoalNode } from '../../src/node.js';
import { Keyring } from '../../src/transport/index.js';
import { waitFor } from '../support/cluster.js';

const nodes: ShoalNode[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0).reverse()) await n.stop();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function start(id: string, keyring: Keyring, seeds: string[]): Promise<ShoalNode> {
  const dataDir = await mkdtemp(join(tmpdir(), `shoal-spread-${id}-`));
  dirs.push(dataDir);
  const node = await ShoalNode.start({
    id,
    host: '127.0.0.1',
    port: 0,
    dataDir,
    seeds,
    keyring,
    partitions: 16,
    profile: 'fast',
    membership: { pushPullIntervalMs: 600_000 },
  });
  nodes.push(node);
  return node;
}

describe('ring changes spread by push', () => {
  it('every node learns each join, and the joins complete, with push-pull too rare to carry them', async () => {
    const keyring = new Keyring(randomBytes(32));
    const a = await start('a', keyring, []);
    const seed = [`127.0.0.1:${a.port}`];
    const b = await start('b', keyring, seed);
    await waitFor('b to be in the ring everywhere, not pending', () =>
      [a, b].every((n) => n.ring.ring?.nodes.includes('b') === true && n.ring.ring?.next === undefined),
    );
    const c = await start('c', keyring, seed);
    await waitFor('c to be in the ring everywhere, not pending', () =>
      [a, b, c].every((n) => n.ring.ring?.nodes.includes('c') === true && n.ring.ring?.next === undefined),
    );
    const versions = [a, b, c].map((n) => n.ring.ring!.version);
    expect(new Set(versions).size).toBe(1);
  });
});
