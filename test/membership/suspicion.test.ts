import { describe, expect, it } from 'vitest';
import { SuspicionTimer, suspicionTimeout } from '../../src/membership/suspicion.js';
import { SimulatedTime } from '../../src/membership/timers.js';

describe('suspicionTimeout (Lifeguard)', () => {
  it('starts at max, shrinks with log(c + 1) / log(k + 1), and never goes below min', () => {
    expect(suspicionTimeout(0, 3, 1000, 6000)).toBe(6000);
    expect(suspicionTimeout(1, 3, 1000, 6000)).toBe(Math.floor(6000 - (Math.log(2) / Math.log(4)) * 5000));
    expect(suspicionTimeout(3, 3, 1000, 6000)).toBe(1000);
    expect(suspicionTimeout(10, 3, 1000, 6000)).toBe(1000);
    expect(suspicionTimeout(0, 0, 1000, 6000)).toBe(1000);
  });
});

describe('SuspicionTimer', () => {
  it('fires once, at the maximum, without confirmations', async () => {
    const time = new SimulatedTime();
    const fired: number[] = [];
    const t0 = time.now();
    new SuspicionTimer(time, 'a', 2, 1000, 6000, () => fired.push(time.now() - t0));
    await time.runFor(5999);
    expect(fired).toEqual([]);
    await time.runFor(10_000);
    expect(fired).toEqual([6000]);
  });

  it('independent confirmations shorten the remaining time; repeats and the accuser do not count', async () => {
    const time = new SimulatedTime();
    const fired: number[] = [];
    const t0 = time.now();
    const s = new SuspicionTimer(time, 'a', 2, 1000, 6000, (c) => fired.push(c));
    await time.runFor(500);
    expect(s.confirm('a')).toBe(false);
    expect(s.confirm('b')).toBe(true);
    expect(s.confirm('b')).toBe(false);
    expect(s.confirmations).toBe(1);
    const expected = suspicionTimeout(1, 2, 1000, 6000);
    expect(s.timeoutMs).toBe(expected);
    await time.runFor(expected - 500 - 1);
    expect(fired).toEqual([]);
    await time.runFor(1);
    expect(fired).toEqual([1]);
    expect(time.now() - t0).toBe(expected);
  });

  it('a confirmation after the new timeout already passed fires right away', async () => {
    const time = new SimulatedTime();
    let firedAt = 0;
    const t0 = time.now();
    const s = new SuspicionTimer(time, 'a', 1, 1000, 6000, () => (firedAt = time.now() - t0));
    await time.runFor(3000);
    expect(s.confirm('b')).toBe(true); // k reached: timeout is min = 1000, already past
    await time.runFor(1);
    expect(firedAt).toBe(3000);
  });

  it('cancel stops it for good', async () => {
    const time = new SimulatedTime();
    let fired = false;
    const s = new SuspicionTimer(time, 'a', 2, 1000, 6000, () => (fired = true));
    s.cancel();
    expect(s.confirm('b')).toBe(false);
    await time.runFor(10_000);
    expect(fired).toBe(false);
  });
});
