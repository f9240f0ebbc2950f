// The byte budget that bounds repair and transfer traffic, on fake time.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ByteBudget } from '../../src/antientropy/index.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('byte budget', () => {
  it('lets a burst through, then holds callers until the debt is paid back at the rate', async () => {
    vi.useFakeTimers();
    const budget = new ByteBudget(1000, 1000, () => Date.now());
    expect(await budget.take(1500)).toBe(true); // the burst, and 500 bytes of debt
    let done = false;
    const next = budget.take(10).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(400);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(150);
    expect(done).toBe(true);
    await next;
    budget.charge(2000); // a reply that already arrived: no wait, more debt
    const abort = new AbortController();
    const held = budget.take(1, abort.signal);
    abort.abort();
    expect(await held).toBe(false);
    expect(budget.waitedMs).toBeGreaterThanOrEqual(500);
  });

  it('never waits without a limit', async () => {
    const budget = new ByteBudget(Infinity);
    budget.charge(1e12);
    expect(await budget.take(1e12)).toBe(true);
  });
});
