// LatencyWindow against a plain reference: the nearest-rank percentile of the
// last `size` samples, on random inputs.
import { describe, expect, it } from 'vitest';
import { LatencyWindow, parseSpeculativeRetry } from '../../src/coordinator/index.js';

function reference(samples: number[], size: number, p: number): number {
  const last = samples.slice(-size).sort((a, b) => a - b);
  return last[Math.max(0, Math.ceil((p / 100) * last.length) - 1)]!;
}

describe('LatencyWindow', () => {
  it('has no value before minSamples, then follows the reference at every update', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 50;
    for (const p of [50, 90, 99, 99.9]) {
      const size = 256;
      const every = 16;
      const w = new LatencyWindow(p, size, every, 32);
      const seen: number[] = [];
      for (let i = 1; i <= 2000; i++) {
        const ms = i % 97 === 0 ? 400 + rand() : rand();
        seen.push(ms);
        w.record(ms);
        if (i < 32) expect(w.current).toBeUndefined();
        else if (i === 32 || (i - 32) % every === 0) expect(w.current).toBe(reference(seen, size, p));
      }
    }
  });

  it('agrees with the reference on samples full of ties', () => {
    let seed = 11;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % 6;
    for (const p of [1, 50, 99]) {
      const w = new LatencyWindow(p, 128, 1, 1);
      const seen: number[] = [];
      for (let i = 0; i < 1000; i++) {
        seen.push(rand());
        w.record(seen[seen.length - 1]!);
        expect(w.current).toBe(reference(seen, 128, p));
      }
    }
  });

  it('forgets samples older than its window', () => {
    const w = new LatencyWindow(99, 64, 8, 8);
    for (let i = 0; i < 64; i++) w.record(1000);
    expect(w.current).toBe(1000);
    for (let i = 0; i < 64; i++) w.record(2);
    expect(w.current).toBe(2);
  });

  it('rejects a percentile outside (0, 100)', () => {
    expect(() => new LatencyWindow(100)).toThrow(RangeError);
    expect(() => new LatencyWindow(0)).toThrow(RangeError);
  });
});

describe('parseSpeculativeRetry', () => {
  it("reads Cassandra's spellings", () => {
    expect(parseSpeculativeRetry('99p')).toEqual({ kind: 'percentile', p: 99 });
    expect(parseSpeculativeRetry(' 99.9P ')).toEqual({ kind: 'percentile', p: 99.9 });
    expect(parseSpeculativeRetry('25ms')).toEqual({ kind: 'fixed', ms: 25 });
    expect(parseSpeculativeRetry('none')).toEqual({ kind: 'none' });
    for (const bad of ['100p', '0p', 'p', '0ms', '60001ms', '1.5ms', '10', 'always']) expect(() => parseSpeculativeRetry(bad)).toThrow(RangeError);
  });
});
