import { describe, expect, it } from 'vitest';
import { BroadcastQueue } from '../../src/membership/broadcast-queue.js';

const bytes = (n: number): Uint8Array => new Uint8Array(n);

describe('BroadcastQueue', () => {
  it('sends least-transmitted first, newest first among equals', () => {
    const q = new BroadcastQueue<string>();
    q.push('a', 'a1', bytes(10));
    q.push('b', 'b1', bytes(10));
    expect(q.take(15, 10).map((e) => e.update)).toEqual(['b1']);
    expect(q.take(15, 10).map((e) => e.update)).toEqual(['a1']);
    q.push('c', 'c1', bytes(10));
    expect(q.take(100, 10).map((e) => e.update)).toEqual(['c1', 'b1', 'a1']);
  });

  it('drops an update after `limit` transmissions', () => {
    const q = new BroadcastQueue<string>();
    q.push('a', 'a1', bytes(10));
    for (let i = 0; i < 3; i++) expect(q.take(100, 3)).toHaveLength(1);
    expect(q.take(100, 3)).toHaveLength(0);
    expect(q.size).toBe(0);
  });

  it('a newer update about the same member replaces the older one, with a fresh count', () => {
    const q = new BroadcastQueue<string>();
    q.push('a', 'a1', bytes(10));
    q.take(100, 3);
    q.take(100, 3);
    q.push('a', 'a2', bytes(10));
    expect(q.size).toBe(1);
    for (let i = 0; i < 3; i++) expect(q.take(100, 3).map((e) => e.update)).toEqual(['a2']);
    expect(q.size).toBe(0);
  });

  it('packs within the budget, skipping entries too big for the room left', () => {
    const q = new BroadcastQueue<string>();
    q.push('small1', 's1', bytes(10));
    q.push('big', 'b', bytes(50));
    q.push('small2', 's2', bytes(10));
    const got = q.take(30, 10);
    expect(got.map((e) => e.update)).toEqual(['s2', 's1']);
    expect(got.reduce((n, e) => n + e.bytes.length, 0)).toBeLessThanOrEqual(30);
    expect(q.take(0, 10)).toHaveLength(0);
  });

  it('delete and clear forget updates', () => {
    const q = new BroadcastQueue<string>();
    q.push('a', 'a1', bytes(1));
    q.push('b', 'b1', bytes(1));
    q.delete('a');
    expect(q.get('a')).toBeUndefined();
    expect(q.take(100, 5).map((e) => e.update)).toEqual(['b1']);
    q.clear();
    expect(q.size).toBe(0);
  });
});
