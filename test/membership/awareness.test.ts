import { describe, expect, it } from 'vitest';
import { Awareness } from '../../src/membership/awareness.js';

describe('Awareness', () => {
  it('scales timeouts by score + 1, clamped to [0, max − 1]', () => {
    const a = new Awareness(8);
    expect(a.scale(500)).toBe(500);
    a.apply(3);
    expect(a.score).toBe(3);
    expect(a.scale(500)).toBe(2000);
    a.apply(100);
    expect(a.score).toBe(7);
    expect(a.scale(100)).toBe(800);
    a.apply(-100);
    expect(a.score).toBe(0);
  });

  it('rejects a nonsense maximum', () => {
    expect(() => new Awareness(0)).toThrow(RangeError);
    expect(() => new Awareness(1.5)).toThrow(RangeError);
  });
});
