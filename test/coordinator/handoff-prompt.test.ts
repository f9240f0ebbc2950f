// HintedHandoff.hinted(): a hint stored for an owner that membership reports
// reachable goes back on a short timer, not at the next periodic pass (unit test
// of the handoff alone: the hint store and the peers are in-memory fakes).
import { afterEach, describe, expect, it } from 'vitest';
import type { SiblingSet } from '../../src/codec/index.js';
import { HintedHandoff, type ReplicaPeers } from '../../src/coordinator/index.js';
import { systemClock } from '../../src/time.js';
import { waitFor } from '../support/cluster.js';

const SET: SiblingSet = { clock: Buffer.from([1, 0]), siblings: [] };

class FakeHints {
  readonly held = new Map<string, Map<string, SiblingSet>>();
  ownerScans = 0;
  add(owner: string, key: string): void {
    if (!this.held.has(owner)) this.held.set(owner, new Map());
    this.held.get(owner)!.set(key, SET);
  }
  async hintOwners(): Promise<string[]> {
    this.ownerScans++;
    return [...this.held.keys()].filter((o) => this.held.get(o)!.size > 0);
  }
  async *scanHints(owner: string) {
    for (const [k, set] of this.held.get(owner) ?? []) yield { key: Buffer.from(k), set, createdAt: Date.now() };
  }
  async deleteHint(owner: string, key: Buffer): Promise<boolean> {
    return this.held.get(owner)?.delete(key.toString()) ?? false;
  }
}

let handoff: HintedHandoff | undefined;
afterEach(async () => {
  await handoff?.stop();
  handoff = undefined;
});

/** `refuse(to)`: true makes that delivery fail, as a timeout would. */
function start(hints: FakeHints, delivered: string[], reachable: Set<string>, refuse: (to: string) => boolean = () => false): HintedHandoff {
  const peers = {
    write: async (to: string, key: Buffer) => {
      if (refuse(to)) throw new Error(`${to} did not answer in time`);
      delivered.push(`${to}:${key.toString()}`);
    },
  } as unknown as ReplicaPeers;
  // The periodic pass is an hour away: only hinted() can deliver within the test.
  return new HintedHandoff({
    hints,
    peers,
    isReachable: (id) => reachable.has(id),
    clock: systemClock,
    intervalMs: 3_600_000,
    maxAgeMs: 3_600_000,
    concurrency: 4,
    replicaTimeoutMs: 1000,
    promptDelayMs: 10,
    retryDelayMs: 10,
  });
}

describe('hinted handoff: prompt delivery to a reachable owner', () => {
  it('delivers a reachable owner\'s hints soon after one is stored, leaves an unreachable owner\'s for later, and scans only the due owner', async () => {
    const hints = new FakeHints();
    const delivered: string[] = [];
    handoff = start(hints, delivered, new Set(['slow']));
    await handoff.start();
    hints.add('slow', 'a');
    hints.add('slow', 'b');
    hints.add('dead', 'c');
    handoff.hinted('slow');
    handoff.hinted('dead');
    await waitFor('the reachable owner\'s hints to be delivered', () => hints.held.get('slow')!.size === 0, 10_000);
    expect(delivered.sort()).toEqual(['slow:a', 'slow:b']);
    expect(hints.held.get('dead')!.size).toBe(1);
    expect(hints.ownerScans).toBe(0); // no full pass over every owner
  });

  it('retries a reachable owner whose deliveries failed soon, backing off, instead of at the next pass', async () => {
    const hints = new FakeHints();
    const delivered: string[] = [];
    let refusals = 3; // busy working through a backlog, say
    handoff = start(hints, delivered, new Set(['busy']), (to) => to === 'busy' && refusals-- > 0);
    await handoff.start();
    hints.add('busy', 'a');
    handoff.hinted('busy');
    await waitFor('the hint to be delivered after the owner stops refusing', () => hints.held.get('busy')!.size === 0, 10_000);
    expect(delivered).toEqual(['busy:a']);
    expect(handoff.stats.failed).toBe(3);
    expect(hints.ownerScans).toBe(0); // the hour-long periodic pass never ran
  });
});
