// Deadlines: one timer for many requests' timeouts. Driven by fake timers, as the
// per-request timers it replaces were.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Deadlines, type Expiring } from '../../src/coordinator/deadlines.js';

function item(log: number[], id: number): Expiring {
  return { expire: () => log.push(id) };
}

describe('deadlines', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('expires an entry once its timeout has passed, not before, whenever within a tick it was added', async () => {
    const d = new Deadlines(100);
    const log: number[] = [];
    d.add(item(log, 1));
    await vi.advanceTimersByTimeAsync(7); // the next entry starts mid-tick
    d.add(item(log, 2));
    await vi.advanceTimersByTimeAsync(99); // 106 ms after the first, 99 after the second
    expect(log).toEqual([]);
    await vi.advanceTimersByTimeAsync(20); // both within two ticks of their timeouts
    expect(log).toEqual([1, 2]);
    expect(d.pending).toBe(0);
    expect(vi.getTimerCount()).toBe(0); // nothing pending: no timer
  });

  it('a cancelled entry never expires; the timer stops with the last pending entry', async () => {
    const d = new Deadlines(50);
    const log: number[] = [];
    const a = item(log, 1);
    const b = item(log, 2);
    const ta = d.add(a);
    const tb = d.add(b);
    d.cancel(ta, a);
    d.cancel(ta, a); // twice: nothing more
    expect(d.pending).toBe(1);
    d.cancel(tb, b);
    expect(d.pending).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(200);
    expect(log).toEqual([]);
  });

  it('keeps order and every entry across growth of its ring, with cancellations among them', async () => {
    const d = new Deadlines(30);
    const log: number[] = [];
    const kept: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const it = item(log, i);
      const t = d.add(it);
      if (i % 3 === 0) d.cancel(t, it);
      else kept.push(i);
      if (i % 100 === 99) await vi.advanceTimersByTimeAsync(1);
    }
    await vi.advanceTimersByTimeAsync(100);
    expect(log).toEqual(kept);
    expect(d.pending).toBe(0);
  });

  it('an entry added by an expiring one expires a whole timeout later', async () => {
    const d = new Deadlines(40);
    const log: number[] = [];
    d.add({
      expire: () => {
        log.push(1);
        d.add(item(log, 2));
      },
    });
    await vi.advanceTimersByTimeAsync(60);
    expect(log).toEqual([1]);
    await vi.advanceTimersByTimeAsync(30);
    expect(log).toEqual([1]); // < 40 ms after it was added
    await vi.advanceTimersByTimeAsync(30);
    expect(log).toEqual([1, 2]);
  });

  it('a stale ticket (its slot reused after the ring started over) cancels nothing', async () => {
    const d = new Deadlines(20);
    const log: number[] = [];
    const a = item(log, 1);
    const ta = d.add(a);
    d.cancel(ta, a); // nothing pending: the ring starts over
    const b = item(log, 2);
    d.add(b);
    d.cancel(ta, a);
    await vi.advanceTimersByTimeAsync(50);
    expect(log).toEqual([2]);
  });
});
