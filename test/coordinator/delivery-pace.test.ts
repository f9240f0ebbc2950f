// The pace of hint batches to one owner: more in flight while the owner answers
// within the target of its fastest reply, fewer and then gaps while it does not.
import { describe, expect, it } from 'vitest';
import { DeliveryPace } from '../../src/coordinator/delivery-pace.js';

const limits = { maxInFlight: 4, targetMs: 20, maxGapMs: 1000 };

/** Answers `n` batches one after another, each taking `rtt` ms; returns the time after. */
function answer(p: DeliveryPace, n: number, rtt: number, t: number): number {
  for (let i = 0; i < n; i++) {
    p.answered(t, t + rtt);
    t += rtt;
  }
  return t;
}

describe('delivery pace', () => {
  it('starts with one batch in flight and adds batches up to the limit while replies stay fast', () => {
    const p = new DeliveryPace(limits);
    expect(p.inFlight).toBe(1);
    expect(p.gapMs).toBe(0);
    let t = answer(p, 1, 40, 0);
    expect(p.inFlight).toBe(2);
    const seen = [p.inFlight];
    for (let i = 0; i < 20; i++) {
      t = answer(p, 1, 40 + (i % 3) * 5, t); // jitter within the target
      seen.push(p.inFlight);
    }
    expect(seen.every((x, i) => i === 0 || x >= seen[i - 1]!)).toBe(true);
    expect(p.inFlight).toBe(4);
    expect(p.gapMs).toBe(0);
  });

  it('halves the batches in flight once per round trip when replies come later than the target allows', () => {
    const p = new DeliveryPace(limits);
    let t = answer(p, 20, 40, 0);
    expect(p.inFlight).toBe(4);
    // Four batches sent together before the owner got busy; all four come back slow.
    const sent = t;
    for (let i = 1; i <= 4; i++) p.answered(sent, sent + 100 * i);
    expect(p.inFlight).toBe(2); // one cut for the round trip, not four
    t = sent + 400;
    p.answered(t, t + 100); // sent after the cut, still slow
    expect(p.inFlight).toBe(1);
    expect(p.gapMs).toBe(0);
  });

  it('below one batch in flight leaves growing gaps, up to the limit, and closes them once replies are fast again', () => {
    const p = new DeliveryPace(limits);
    let t = answer(p, 1, 10, 0); // the fastest reply: 10 ms
    const gaps: number[] = [];
    for (let i = 0; i < 12; i++) {
      t = answer(p, 1, 90, t);
      gaps.push(p.gapMs);
    }
    expect(p.inFlight).toBe(1);
    expect(gaps[0]).toBe(0); // the first slow reply took the second batch in flight away
    expect(gaps[1]).toBeGreaterThan(0);
    expect(gaps.every((g, i) => i === 0 || g >= gaps[i - 1]!)).toBe(true);
    expect(Math.max(...gaps)).toBe(1000);
    // Fast again: the gap halves away, then batches are added again.
    for (let i = 0; i < 12 && p.gapMs > 0; i++) t = answer(p, 1, 10, t);
    expect(p.gapMs).toBe(0);
    t = answer(p, 4, 10, t);
    expect(p.inFlight).toBeGreaterThan(1);
  });
});
