import { describe, expect, it } from 'vitest';
import { seededRandom as rng } from '../../src/membership/index.js';
import { sample } from '../../src/membership/sample.js';

describe('sample (reservoir)', () => {
  it('takes up to k distinct accepted items, all of them when fewer are accepted', () => {
    const items = Array.from({ length: 50 }, (_, i) => i);
    const even = (x: number) => x % 2 === 0;
    for (let seed = 1; seed < 200; seed++) {
      const got = sample(items, 3, even, rng(seed));
      expect(got).toHaveLength(3);
      expect(new Set(got).size).toBe(3);
      for (const x of got) expect(even(x)).toBe(true);
    }
    expect(sample(items, 10, (x) => x < 4, rng(7)).sort()).toEqual([0, 1, 2, 3]);
    expect(sample(items, 0, even, rng(7))).toEqual([]);
  });

  it('gives every accepted item about the same chance', () => {
    const counts = new Array<number>(10).fill(0);
    const random = rng(42);
    for (let i = 0; i < 20_000; i++) for (const x of sample(Array.from({ length: 10 }, (_, j) => j), 3, () => true, random)) counts[x]!++;
    // Each is picked with probability 3/10: 6,000 expected; 5% is over 6 standard deviations.
    for (const c of counts) expect(Math.abs(c - 6000)).toBeLessThan(300);
  });
});
