import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/time.js';
import { area, b, dump, tempStores, texts, waitFor } from './support.js';

const GRACE = 60_000;
const SKEW = 10_000; // the default clockSkewMs

describe('store: TTL and garbage collection', () => {
  const stores = tempStores();

  it('a value with a TTL is visible before expiry, gone after, and the sweep removes it from disk', async () => {
    const clock = new ManualClock();
    const path = await stores.dir();
    const s = await stores.open({ path, clock, tombstoneGraceMs: GRACE });
    await s.put(b('session'), b('data'), { ttlMs: 1000 });
    await s.put(b('other'), b('stays'));
    clock.advance(999);
    expect(texts((await s.get(b('session'))).values)).toEqual(['data']);
    clock.advance(1);
    expect((await s.get(b('session'))).values).toEqual([]);

    // Expired: invisible at once. The value goes clockSkewMs later; the record
    // (clock, dot) stays for the grace period.
    expect(await s.sweep()).toBe(0);
    clock.advance(SKEW);
    expect(await s.sweep()).toBe(1);
    const set = await s.getSet(b('session'));
    expect(set!.siblings[0]!.value.length).toBe(0);
    clock.advance(GRACE - SKEW - 1);
    expect(await s.sweep()).toBe(0);
    clock.advance(1);
    expect(await s.sweep()).toBe(1);
    expect(await s.getSet(b('session'))).toBeUndefined();
    await s.close();

    const entries = await dump(path);
    expect(area(entries, 'd')).toHaveLength(1); // "other" only
    expect(area(entries, 't')).toEqual([]); // no index entry left
    expect(entries.some(([k]) => k.endsWith(b('session').toString('hex')))).toBe(false);
  });

  it('the expiry index holds one entry per record, moved when the record changes', async () => {
    const clock = new ManualClock();
    const path = await stores.dir();
    const s = await stores.open({ path, clock, tombstoneGraceMs: GRACE });
    await s.put(b('k'), b('v1'), { ttlMs: 1000 });
    let ctx = (await s.get(b('k'))).context;
    await s.put(b('k'), b('v2'), { ttlMs: 5000, context: ctx });
    ctx = (await s.get(b('k'))).context;
    await s.put(b('k'), b('v3'), { context: ctx }); // no TTL: nothing to reclaim
    await s.close();
    expect(area(await dump(path), 't')).toEqual([]);
  });

  it('a tombstone is removed after the grace period, with its record', async () => {
    const clock = new ManualClock();
    const path = await stores.dir();
    const s = await stores.open({ path, clock, tombstoneGraceMs: GRACE });
    await s.put(b('k'), b('v'));
    await s.delete(b('k'), { context: (await s.get(b('k'))).context });
    clock.advance(GRACE - 1);
    expect(await s.sweep()).toBe(0);
    expect((await s.getSet(b('k')))!.siblings[0]!.tombstone).toBe(true);
    clock.advance(1);
    expect(await s.sweep()).toBe(1);
    expect(await s.getSet(b('k'))).toBeUndefined();
    await s.close();
    const entries = await dump(path);
    expect(area(entries, 'd')).toEqual([]);
    expect(area(entries, 't')).toEqual([]);
  });

  it('the sweep never drops a live version: a tombstone beside a concurrent write goes, the write stays', async () => {
    const clock = new ManualClock();
    const s = await stores.open({ clock, tombstoneGraceMs: GRACE });
    await s.put(b('k'), b('one'));
    const seen = (await s.get(b('k'))).context;
    await s.put(b('k'), b('concurrent'));
    await s.put(b('k'), b('ttl'), { ttlMs: 10 * GRACE });
    await s.delete(b('k'), { context: seen });
    clock.advance(GRACE);
    expect(await s.sweep()).toBe(1);
    expect(texts((await s.get(b('k'))).values)).toEqual(['concurrent', 'ttl']);
    expect((await s.getSet(b('k')))!.siblings.some((x) => x.tombstone)).toBe(false);
  });

  it('a write racing the sweep on one key is kept', async () => {
    const clock = new ManualClock();
    const s = await stores.open({ clock, tombstoneGraceMs: 0, clockSkewMs: 0 });
    await s.put(b('k'), b('old'), { ttlMs: 5 });
    clock.advance(5);
    const sweeping = s.sweep();
    const writing = s.put(b('k'), b('new'));
    await Promise.all([sweeping, writing]);
    expect(texts((await s.get(b('k'))).values)).toEqual(['new']);
  });

  it('the sweep reads records not cached on the thread pool, many in one getMany, even with sync reads', async () => {
    const clock = new ManualClock();
    const s = await stores.open({ clock, tombstoneGraceMs: GRACE });
    await Promise.all(Array.from({ length: 300 }, (_, i) => s.put(b(`s${i}`), b('data'), { ttlMs: 1000 })));
    await s.put(b('live'), b('stays'));
    s.dropCache();
    clock.advance(1000 + SKEW);
    const before = { calls: s.stats.readCalls, keys: s.stats.keysRead };
    expect(await s.sweep()).toBe(300);
    expect(s.stats.keysRead - before.keys).toBe(300);
    expect(s.stats.readCalls - before.calls).toBeLessThanOrEqual(2);
    const got = await Promise.all(Array.from({ length: 300 }, (_, i) => s.getSet(b(`s${i}`))));
    expect(got.every((set) => set!.siblings.length === 1 && set!.siblings[0]!.value.length === 0)).toBe(true);
    expect(texts((await s.get(b('live'))).values)).toEqual(['stays']);
  });

  it('a write arriving while the sweep reads its key waits for the read and is kept', async () => {
    const clock = new ManualClock();
    const s = await stores.open({ clock, tombstoneGraceMs: 0, clockSkewMs: 0 });
    await s.put(b('k'), b('old'), { ttlMs: 5 });
    s.dropCache();
    clock.advance(5);
    const calls = s.stats.readCalls;
    const sweeping = s.sweep();
    // The write goes in the turn after the sweep's read of k was sent (bounded: the read is queued at once).
    for (let turns = 0; turns < 10_000 && s.stats.readCalls === calls; turns++) await new Promise((r) => setImmediate(r));
    expect(s.stats.readCalls).toBeGreaterThan(calls);
    const writing = s.put(b('k'), b('new'));
    await Promise.all([sweeping, writing]);
    expect(texts((await s.get(b('k'))).values)).toEqual(['new']);
    s.dropCache();
    expect(texts((await s.get(b('k'))).values)).toEqual(['new']);
  });

  it('touch gives live versions a new TTL, under new dots', async () => {
    const clock = new ManualClock();
    const s = await stores.open({ clock, tombstoneGraceMs: GRACE });
    await s.put(b('k'), b('a'), { ttlMs: 100 });
    await s.put(b('k'), b('b'), { ttlMs: 100 });
    const before = await s.getSet(b('k'));
    clock.advance(50);
    const after = await s.touch(b('k'), 1000);
    expect(after!.siblings).toHaveLength(2);
    expect(after!.siblings.every((x) => x.expiresAt === clock.now() + 1000)).toBe(true);
    const oldDots = before!.siblings.map((x) => Buffer.from(x.dot).toString('hex'));
    expect(after!.siblings.some((x) => oldDots.includes(Buffer.from(x.dot).toString('hex')))).toBe(false);
    clock.advance(500);
    expect(texts((await s.get(b('k'))).values)).toEqual(['a', 'b']);
    expect(await s.touch(b('absent'), 1000)).toBeUndefined();
    clock.advance(1000);
    expect(await s.touch(b('k'), 1000)).toBeUndefined(); // expired: nothing live to touch
  });

  it('the background sweep runs on its own and stops with close()', async () => {
    const clock = new ManualClock();
    const s = await stores.open({ clock, tombstoneGraceMs: 0, clockSkewMs: 0, sweepIntervalMs: 5 });
    await s.put(b('k'), b('v'), { ttlMs: 10 });
    clock.advance(10);
    await waitFor(async () => (await s.getSet(b('k'))) === undefined);
    expect(s.stats.sweeps).toBeGreaterThan(0);
    expect(s.stats.reclaimed).toBeGreaterThanOrEqual(1);
  });
});
