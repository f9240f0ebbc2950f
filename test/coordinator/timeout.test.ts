// A request whose replicas never answer (and whose transport never times them out)
// fails with a TimeoutError once requestTimeoutMs has passed, counted in stats; the
// coordinator's deadlines, driven by fake timers as the per-request timers were.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Coordinator, type ReplicaPeers } from '../../src/coordinator/index.js';
import { TimeoutError } from '../../src/errors.js';
import { PreferenceLists, createRing, joinRing } from '../../src/ring/index.js';
import { TestStores, coordinatorOptions } from './support.js';

const stores = new TestStores('shoal-timeout-');
const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
});
afterEach(async () => {
  vi.useRealTimers();
  await stores.closeAll();
});

/** The coordinator, and its local write once the coordinator has started it. */
async function coordinator(): Promise<{ c: Coordinator; localWrite: Promise<unknown> }> {
  await stores.open(['n1']);
  const local = stores.get('n1')!;
  // The local write is real disk I/O, which fake time outruns: the put test waits for it.
  const put = local.put.bind(local);
  const localWrite = new Promise<unknown>((resolve) => {
    local.put = (...args) => {
      const p = put(...args);
      resolve(p);
      return p;
    };
  });
  const placement = new PreferenceLists(joinRing(joinRing(createRing(64, 'n1'), 'n2'), 'n3'), 3);
  const peers = { write: () => never(), read: () => never() } as unknown as ReplicaPeers;
  const c = new Coordinator(
    coordinatorOptions({ nodeId: 'n1', local, peers, requestTimeoutMs: 300, cluster: { placement: () => placement, isReachable: () => true } }),
  );
  return { c, localWrite };
}

/** What p settles to, read as it goes: undefined while pending. */
function watch(p: Promise<unknown>): { outcome: unknown; settled: Promise<unknown> } {
  const w: { outcome: unknown; settled: Promise<unknown> } = { outcome: undefined, settled: Promise.resolve() };
  w.settled = p.then(
    () => (w.outcome = 'ok'),
    (err: unknown) => (w.outcome = err),
  );
  return w;
}

/** The request fails with TimeoutError once requestTimeoutMs (300) has passed, and not 10 ms before. */
async function timesOut(request: Promise<unknown>): Promise<Error> {
  const w = watch(request);
  await vi.advanceTimersByTimeAsync(290);
  expect(w.outcome).toBeUndefined();
  await vi.advanceTimersByTimeAsync(40);
  await w.settled;
  expect(w.outcome).toBeInstanceOf(TimeoutError);
  return w.outcome as Error;
}

describe('a quorum that never completes', () => {
  it('a put fails with TimeoutError after requestTimeoutMs, not before', async () => {
    const { c, localWrite } = await coordinator();
    const request = c.put(Buffer.from('k'), Buffer.from('v'));
    await localWrite;
    const err = await timesOut(request);
    expect(err.message).toMatch(/write: 1 of 2 replicas answered within 300 ms/);
    expect(c.stats.timeouts).toBe(1);
  });

  it('a get fails with TimeoutError after requestTimeoutMs', async () => {
    const { c } = await coordinator();
    const err = await timesOut(c.get(Buffer.from('k')));
    expect(err.message).toMatch(/read: 0 of 2 replicas answered within 300 ms/); // "not found" here waits for the others
    expect(c.stats.timeouts).toBe(1);
  });
});
