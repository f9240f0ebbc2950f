// The open-loop load of `SHOAL_BENCH_RATE` (bench/open-loop.ts). The clock is the
// test's own where the schedule matters, so nothing here depends on how fast
// the machine is.
import { describe, expect, it, vi } from 'vitest';
import { openLoop } from '../../bench/open-loop.js';

/** A request the test settles by hand. */
interface Held {
  i: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

function holder(): { held: Held[]; op: (i: number) => Promise<unknown> } {
  const held: Held[] = [];
  return {
    held,
    op: (i) => new Promise<void>((resolve, reject) => void held.push({ i, resolve, reject })),
  };
}

describe('open-loop load', () => {
  it('starts rate × seconds requests, each once, and counts failures apart from latencies', async () => {
    const seen: number[] = [];
    const errors: unknown[] = [];
    const r = await openLoop(
      { rate: 4000, seconds: 0.025, maxInFlight: 8 },
      (i) => {
        seen.push(i);
        return i % 3 === 0 ? Promise.reject(new Error(`no ${i}`)) : Promise.resolve();
      },
      (err) => errors.push(err),
    );
    expect(r.issued).toBe(100);
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(r.errors).toBe(34);
    expect(errors).toHaveLength(34);
    expect(r.latencies).toHaveLength(66);
  });

  it('measures from the scheduled start: time waiting at the in-flight cap counts', async () => {
    let t = 1000;
    const { held, op } = holder();
    // One request per millisecond, four in all, one at a time.
    const done = openLoop({ rate: 1000, seconds: 0.004, maxInFlight: 1, now: () => t }, op);
    expect(held.map((h) => h.i)).toEqual([0]);
    const settleAt = async (n: number, at: number): Promise<void> => {
      t = at;
      held[n]!.resolve();
      // The next request starts as this one settles (a later microtask).
      if (n < 3) await vi.waitFor(() => expect(held).toHaveLength(n + 2), { timeout: 2000, interval: 1 });
    };
    await settleAt(0, 1010);
    await settleAt(1, 1012);
    await settleAt(2, 1013);
    await settleAt(3, 1020);
    const r = await done;
    // Scheduled at 0, 1, 2 and 3 ms. From their actual starts, a closed loop would say 10, 2, 1, 7.
    expect(r.latencies).toEqual([10, 11, 11, 17]);
    expect(r.late).toBe(3);
    expect(r.errors).toBe(0);
    expect(r.elapsedMs).toBe(20);
  });

  it('starts what falls due as its clock advances, all of a millisecond at once', async () => {
    let t = 0;
    const { held, op } = holder();
    // Three per millisecond, for 3 ms.
    const done = openLoop({ rate: 3000, seconds: 0.003, maxInFlight: 100, now: () => t }, op);
    expect(held.map((h) => h.i)).toEqual([0, 1, 2]);
    t = 1.5;
    await vi.waitFor(() => expect(held).toHaveLength(6), { timeout: 2000, interval: 1 });
    t = 5;
    await vi.waitFor(() => expect(held).toHaveLength(9), { timeout: 2000, interval: 1 });
    for (const h of held) h.resolve();
    const r = await done;
    // Requests 6..8 were due at 2 ms and started at 5 (late); 3..5 at 1 ms, started at 1.5 (on time).
    expect(r.late).toBe(3);
    // All settle at 5 ms: scheduled at 0, 1 and 2 ms, three each.
    expect(r.latencies.slice().sort((a, b) => a - b)).toEqual([3, 3, 3, 4, 4, 4, 5, 5, 5]);
  });

  it('refuses a rate, duration or cap that is not positive', () => {
    const op = () => Promise.resolve();
    expect(() => openLoop({ rate: 0, seconds: 1, maxInFlight: 1 }, op)).toThrow(RangeError);
    expect(() => openLoop({ rate: 10, seconds: -1, maxInFlight: 1 }, op)).toThrow(RangeError);
    expect(() => openLoop({ rate: 10, seconds: 1, maxInFlight: 0 }, op)).toThrow(RangeError);
  });
});
