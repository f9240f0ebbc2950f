// Hinted handoff in batches (ReplicaWrites): an owner that takes them gets many
// hints per request, within the count and byte limits and the batches-in-flight
// bound; what the owner reports failed stays held, the rest is deleted. Unit test
// of the handoff alone: the hint store and the peers are in-memory fakes.
import { describe, expect, it } from 'vitest';
import type { SiblingSet } from '../../src/codec/index.js';
import { ByteBudget } from '../../src/antientropy/index.js';
import { HintedHandoff, type ReplicaPeers } from '../../src/coordinator/index.js';
import { systemClock } from '../../src/time.js';

function setOf(valueBytes: number): SiblingSet {
  return { clock: Buffer.from([1, 0]), siblings: [{ dot: Buffer.alloc(16), value: Buffer.alloc(valueBytes), expiresAt: 0, tombstone: false, writtenAt: 1 }] };
}

class FakeHints {
  readonly held = new Map<string, SiblingSet>();
  constructor(n: number, size: (i: number) => number = () => 100) {
    for (let i = 0; i < n; i++) this.held.set(`k${String(i).padStart(5, '0')}`, setOf(size(i)));
  }
  async hintOwners(): Promise<string[]> {
    return this.held.size > 0 ? ['owner'] : [];
  }
  async *scanHints(owner: string) {
    if (owner !== 'owner') return;
    for (const [k, set] of [...this.held]) yield { key: Buffer.from(k), set, createdAt: Date.now() };
  }
  async deleteHint(_owner: string, key: Buffer): Promise<boolean> {
    return this.held.delete(key.toString());
  }
}

interface Log {
  batches: string[][];
  singles: string[];
  maxInFlight: number;
}

function newLog(): Log {
  return { batches: [], singles: [], maxInFlight: 0 };
}

/**
 * Peers that take batches; `fail(batch)` lists the indexes to report failed, or
 * throws for the whole request; `answer(inFlight)` runs as each batch is answered.
 */
function peers(log: Log, fail: (keys: string[]) => number[] = () => [], answer?: (inFlight: number) => void): ReplicaPeers {
  let inFlight = 0;
  return {
    write: async (_to: string, key: Buffer) => {
      log.singles.push(key.toString());
    },
    writeMany: async (_to: string, writes: ReadonlyArray<{ key: Buffer; set: SiblingSet }>) => {
      inFlight++;
      log.maxInFlight = Math.max(log.maxInFlight, inFlight);
      await new Promise((r) => setImmediate(r));
      answer?.(inFlight);
      inFlight--;
      const keys = writes.map((w) => w.key.toString());
      log.batches.push(keys);
      return fail(keys);
    },
  } as unknown as ReplicaPeers;
}

interface Setup {
  /** Default true. */
  canBatch?: boolean;
  budget?: { take(bytes: number, signal?: AbortSignal): Promise<boolean> };
  /** A manual clock (default the system's). */
  clock?: { t: number };
  pace?: false | { maxGapMs: number };
  /** Records the gaps the handoff waits, without waiting. */
  gaps?: number[];
}

function handoff(hints: FakeHints, p: ReplicaPeers, o: Setup = {}): HintedHandoff {
  const clock = o.clock;
  return new HintedHandoff({
    ...(o.budget !== undefined ? { budget: o.budget } : {}),
    ...(o.pace !== undefined ? { pace: o.pace } : {}),
    ...(o.gaps !== undefined ? { sleep: async (ms: number) => (o.gaps!.push(ms), true) } : {}),
    hints,
    peers: p,
    isReachable: () => true,
    clock: clock === undefined ? systemClock : { now: () => clock.t },
    intervalMs: 3_600_000,
    maxAgeMs: 3_600_000,
    concurrency: 16,
    canBatch: () => o.canBatch ?? true,
    batch: { hints: 64, bytes: 16 * 1024, inFlight: 3 },
    replicaTimeoutMs: 1000,
  });
}

describe('hinted handoff in batches', () => {
  it('delivers every hint in batches within the count limit, with at most inFlight batches at once', async () => {
    const hints = new FakeHints(1000);
    const log = newLog();
    const h = handoff(hints, peers(log));
    await h.runOnce();
    expect(hints.held.size).toBe(0);
    expect(log.singles).toEqual([]);
    expect(log.batches.length).toBe(Math.ceil(1000 / 64));
    for (const b of log.batches) expect(b.length).toBeLessThanOrEqual(64);
    expect(new Set(log.batches.flat()).size).toBe(1000);
    expect(log.maxInFlight).toBeGreaterThan(1);
    expect(log.maxInFlight).toBeLessThanOrEqual(3);
    expect(h.stats).toMatchObject({ delivered: 1000, batches: log.batches.length, failed: 0 });
  });

  it('keeps each batch within the byte limit, and sends a hint too large for any batch on its own', async () => {
    // 1 KiB values: ~15 fit in 16 KiB; every 100th hint is 20 KiB.
    const hints = new FakeHints(300, (i) => (i % 100 === 7 ? 20 * 1024 : 1024));
    const log = newLog();
    await handoff(hints, peers(log)).runOnce();
    expect(hints.held.size).toBe(0);
    expect(log.singles.sort()).toEqual(['k00007', 'k00107', 'k00207']);
    for (const b of log.batches) {
      expect(b.length).toBeGreaterThan(1);
      expect(b.length * (1024 + 40)).toBeLessThanOrEqual(16 * 1024);
    }
    expect(log.batches.flat().length).toBe(297);
  });

  it('keeps the hints the owner reports failed, deletes the others, and stops the pass to retry later', async () => {
    const hints = new FakeHints(200);
    const log = newLog();
    let first = true;
    const h = handoff(
      hints,
      peers(log, () => {
        if (!first) return [];
        first = false;
        return [1, 5, 63];
      }),
    );
    await h.runOnce();
    expect(h.stats.failed).toBe(3);
    const firstBatch = log.batches[0]!;
    for (const i of [1, 5, 63]) expect(hints.held.has(firstBatch[i]!)).toBe(true);
    for (const k of log.batches.flat()) if (![1, 5, 63].some((i) => firstBatch[i] === k)) expect(hints.held.has(k)).toBe(false);
    // The failure stopped the pass: not every hint was even tried.
    expect(log.batches.flat().length).toBeLessThan(200);
    await h.runOnce();
    expect(hints.held.size).toBe(0);
  });

  it('keeps a whole batch when the request fails', async () => {
    const hints = new FakeHints(10);
    const log = newLog();
    const h = handoff(
      hints,
      peers(log, () => {
        throw new Error('timed out');
      }),
    );
    await h.runOnce();
    expect(hints.held.size).toBe(10);
    expect(h.stats).toMatchObject({ delivered: 0, failed: 10, batches: 1 });
  });

  it('sends one request per hint to an owner that does not take batches', async () => {
    const hints = new FakeHints(100);
    const log = newLog();
    const h = handoff(hints, peers(log), { canBatch: false });
    await h.runOnce();
    expect(hints.held.size).toBe(0);
    expect(log.batches).toEqual([]);
    expect(log.singles.length).toBe(100);
    expect(h.stats).toMatchObject({ delivered: 100, batches: 0 });
  });

  it('sends each request only once the bandwidth budget has granted its bytes', async () => {
    const hints = new FakeHints(200); // 100-byte values: 64 per batch, 4 batches
    const log = newLog();
    const taken: number[] = [];
    const gates: Array<() => void> = [];
    const budget = {
      take: (bytes: number) => {
        taken.push(bytes);
        // The first request goes at once; each later one waits until the test lets it.
        return taken.length === 1 ? Promise.resolve(true) : new Promise<boolean>((r) => gates.push(() => r(true)));
      },
    };
    const run = handoff(hints, peers(log), { budget }).runOnce();
    const until = async (what: () => boolean) => {
      for (let i = 0; i < 1000 && !what(); i++) await new Promise((r) => setImmediate(r));
      expect(what()).toBe(true);
    };
    const settle = async () => {
      for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    };
    await until(() => gates.length === 1 && log.batches.length === 1);
    await settle();
    expect(log.batches.length).toBe(1); // the second waits for its budget
    expect(hints.held.size).toBe(200 - 64);
    for (let k = 2; k <= 4; k++) {
      gates.shift()!();
      await until(() => log.batches.length === k);
      await settle();
      expect(log.batches.length).toBe(k); // no request ran ahead of its budget
    }
    await run;
    expect(hints.held.size).toBe(0);
    expect(taken.length).toBe(4);
    // Each take covers its batch: 64 (or the last 8) hints of at least their values' bytes.
    expect(taken.slice(0, 3).every((b) => b >= 64 * 100)).toBe(true);
    expect(taken[3]).toBeGreaterThanOrEqual(8 * 100);
  });

  it('stop() ends a delivery that waits for budget, and what was not sent stays held', async () => {
    // 1 byte/s: once the first second's burst is spent, the next batch would wait for days.
    const hints = new FakeHints(200, () => 1024);
    const log = newLog();
    const h = handoff(hints, peers(log), { budget: new ByteBudget(1) });
    const run = h.runOnce();
    for (let i = 0; i < 1000 && log.batches.length < 4; i++) await new Promise((r) => setImmediate(r));
    expect(log.batches.length).toBeGreaterThan(0);
    await h.stop();
    await run; // resolves: the wait for budget was aborted
    const sent = log.batches.flat().length;
    expect(sent).toBeLessThan(200);
    expect(hints.held.size).toBe(200 - sent);
  });

  describe('pace', () => {
    /**
     * Moves a manual clock on as each batch is answered, by what `rtt` says for the
     * batches in flight then and the reply's number: an owner slowed by its own
     * backlog, or by other work.
     */
    function replyTime(clock: { t: number }, rtt: (inFlight: number, nth: number) => number): (inFlight: number) => void {
      let nth = 0;
      return (n) => {
        clock.t += rtt(n, nth++);
      };
    }

    it('keeps fewer batches in flight to an owner that answers later when more are in flight', async () => {
      // 10 ms to answer one batch alone, 100 ms each when several queue at the owner.
      const rtt = (n: number) => (n > 1 ? 100 : 10);
      const fixed = newLog();
      const fixedHints = new FakeHints(2000);
      const fixedClock = { t: 0 };
      await handoff(fixedHints, peers(fixed, undefined, replyTime(fixedClock, rtt)), { clock: fixedClock, pace: false }).runOnce();
      expect(fixed.maxInFlight).toBe(3);
      expect(fixedHints.held.size).toBe(0);

      const clock = { t: 0 };
      const log = newLog();
      const hints = new FakeHints(2000);
      const gaps: number[] = [];
      await handoff(hints, peers(log, undefined, replyTime(clock, rtt)), { clock, gaps }).runOnce();
      expect(hints.held.size).toBe(0);
      expect(log.maxInFlight).toBe(2); // tries a second batch, backs off each time it slows the owner
    });

    it('leaves growing gaps between batches to an owner that stays slow, and still delivers everything', async () => {
      // The first batch is answered in 5 ms, every later one in 100 ms: the owner got busy.
      const clock = { t: 0 };
      const log = newLog();
      const hints = new FakeHints(2000);
      const gaps: number[] = [];
      const h = handoff(hints, peers(log, undefined, replyTime(clock, (_n, nth) => (nth === 0 ? 5 : 100))), { clock, pace: { maxGapMs: 800 }, gaps });
      await h.runOnce();
      expect(hints.held.size).toBe(0);
      expect(h.stats.yieldedMs).toBe(gaps.reduce((a, b) => a + b, 0));
      expect(gaps.length).toBeGreaterThan(5);
      expect(gaps.every((g, i) => g > 0 && (i === 0 || g >= gaps[i - 1]!))).toBe(true);
      expect(Math.max(...gaps)).toBe(800);
    });

    it('stop() ends a wait between batches, and what was not sent stays held', async () => {
      // Replies after the first take 5 minutes of the manual clock: the gaps become minutes of real time.
      const clock = { t: 0 };
      const log = newLog();
      const hints = new FakeHints(1000);
      const h = handoff(hints, peers(log, undefined, replyTime(clock, (_n, nth) => (nth === 0 ? 1 : 300_000))), { clock, pace: { maxGapMs: 600_000 } });
      const run = h.runOnce();
      for (let i = 0; i < 1000 && log.batches.length < 4; i++) await new Promise((r) => setImmediate(r));
      for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
      const sent = log.batches.flat().length;
      expect(log.batches.length).toBeGreaterThanOrEqual(4);
      expect(sent).toBeLessThan(1000); // waiting between batches
      await h.stop();
      await run; // resolves: the wait was aborted
      expect(log.batches.flat().length).toBe(sent);
      expect(hints.held.size).toBe(1000 - sent);
    });
  });
});
