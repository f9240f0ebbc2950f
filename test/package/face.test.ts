// What `import ... from 'shoal'` gives a user: the SDK and typed errors, working
// against an embedded single node.
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Keyring, ShoalError, ShoalNode, TooLargeError } from '../../src/index.js';
import { clientKey, formatToken } from '../../src/transport/index.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

describe('the package face', () => {
  it('runs the README example against a one-node cluster (N=1)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shoal-face-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const clusterKey = randomBytes(32);
    const key = new Keyring(clusterKey);
    const node = await ShoalNode.start({ host: '127.0.0.1', port: 0, dataDir: dir, seeds: [], keyring: key, n: 1, r: 1, w: 1, profile: 'fast' });
    cleanup.push(() => node.stop());
    // As the README: a client token (what `shoal token readme` prints), not the cluster key.
    const token = formatToken('readme', clientKey(clusterKey, 'readme'));
    const client = await Client.connect({ seeds: [`127.0.0.1:${node.port}`], token });
    cleanup.push(() => client.close());

    await client.put('user:42', 'v1');
    await client.put('user:42', 'v2'); // no context: a sibling
    const { values, context } = await client.get('user:42');
    expect(values.map(String).sort()).toEqual(['v1', 'v2']);
    await client.put('user:42', 'merged', { context, ttlMs: 30 * 60_000 });
    expect((await client.get('user:42')).values.map(String)).toEqual(['merged']);
    expect((await client.touch('user:42', 30 * 60_000)).touched).toBe(true);
    expect((await client.get('user:42')).values.map(String)).toEqual(['merged']);
    await client.delete('user:42', { context: (await client.get('user:42')).context });
    expect((await client.get('user:42')).values).toEqual([]);

    const err = await client.put('k', Buffer.alloc(2 * 1024 * 1024)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShoalError);
    expect(err).toBeInstanceOf(TooLargeError);
    expect((err as ShoalError).code).toBe('SHOAL_TOO_LARGE');
  });
});
