// SHOAL_TEST_DC_RTT_MS (src/cli/dc-delay.ts): the benchmark-only delay between data
// centres. Real nodes in this process with real sockets; checks which peers the
// filter delays once the nodes know each other, and the variable's validation.
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keyring, ShoalNode } from '../../src/index.js';
import { DC_RTT_ENV, dcDelayFilter, dcRttFromEnv } from '../../src/cli/dc-delay.js';
import type { FaultFilter } from '../../src/transport/index.js';
import { waitFor } from '../support/cluster.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

describe('dcRttFromEnv', () => {
  it('reads milliseconds, 0 when unset, and names the variable when the value is bad', () => {
    expect(dcRttFromEnv({})).toBe(0);
    expect(dcRttFromEnv({ [DC_RTT_ENV]: '' })).toBe(0);
    expect(dcRttFromEnv({ [DC_RTT_ENV]: '40' })).toBe(40);
    expect(dcRttFromEnv({ [DC_RTT_ENV]: '2.5' })).toBe(2.5);
    for (const bad of ['x', '-1', '60001', 'Infinity', 'NaN']) {
      expect(() => dcRttFromEnv({ [DC_RTT_ENV]: bad })).toThrow(DC_RTT_ENV);
    }
  });
});

describe('dcDelayFilter', () => {
  it('delays traffic with members of other dcs by half the round trip, and nothing else', async () => {
    const keyring = new Keyring(randomBytes(32));
    const start = async (dc: string, seeds: string[]): Promise<{ node: ShoalNode; filter: FaultFilter }> => {
      const dir = await mkdtemp(join(tmpdir(), 'shoal-dc-delay-'));
      cleanup.push(() => rm(dir, { recursive: true, force: true }));
      const ref: { node?: ShoalNode } = {};
      const filter = dcDelayFilter(80, () => ref.node);
      const node = await ShoalNode.start({
        host: '127.0.0.1',
        port: 0,
        dataDir: dir,
        seeds,
        dc,
        keyring,
        n: 3,
        r: 1,
        w: 1,
        profile: 'fast',
        udpFilter: filter,
        rpcFilter: filter,
      });
      ref.node = node;
      cleanup.push(() => node.stop());
      return { node, filter };
    };
    const a = await start('east', []);
    const b = await start('east', [a.node.address]);
    const c = await start('west', [a.node.address]);
    const all = [a, b, c];
    await waitFor('every node to know the three', () => all.every((x) => x.node.membership.members().length === 3));
    const delay = (from: { filter: FaultFilter }, to: { node: ShoalNode }) => from.filter.delayFor('127.0.0.1', to.node.port);
    expect([delay(a, b), delay(a, c), delay(a, a)]).toEqual([0, 40, 0]);
    expect([delay(b, a), delay(b, c)]).toEqual([0, 40]);
    expect([delay(c, a), delay(c, b)]).toEqual([40, 40]);
    expect(a.filter.delayFor('127.0.0.1', 1)).toBe(0); // not a member
  });
});
