import { describe, expect, it } from 'vitest';
import {
  dataKey,
  dataKeyHash,
  dataKeyUserKey,
  expiryBound,
  expiryDataKey,
  expiryKey,
  expiryTime,
  hintKey,
  hintKeyOwner,
  hintPrefix,
  metaKey,
  partitionRange,
} from '../../src/storage/layout.js';
import { native } from '../../src/native.js';

describe('LevelDB layout', () => {
  it('data keys: "d", hash u64 BE, key', () => {
    const k = dataKey(Buffer.from('key'));
    const hash = native.hash64(Buffer.from('key'));
    expect(k.toString('hex')).toBe('64' + hash.toString(16).padStart(16, '0') + Buffer.from('key').toString('hex'));
    expect(dataKeyHash(k)).toBe(hash);
    expect(dataKeyUserKey(k).toString()).toBe('key');
  });

  it('expiry keys: "t", time u64 BE, hash, key; ordered by time', () => {
    const d = Buffer.from('6400000000000000ff6b', 'hex'); // hash 0xff, key 'k'
    const e = expiryKey(1_700_000_000_123, d);
    expect(e.toString('hex')).toBe('74' + (1_700_000_000_123).toString(16).padStart(16, '0') + '00000000000000ff' + '6b');
    expect(expiryTime(e)).toBe(1_700_000_000_123);
    expect(expiryDataKey(e)).toEqual(d);
    expect(Buffer.compare(expiryKey(5, d), expiryKey(6, d))).toBeLessThan(0);
    expect(Buffer.compare(expiryKey(2 ** 40, d), expiryKey(2 ** 40 + 1, d))).toBeLessThan(0);
    expect(Buffer.compare(expiryKey(7, d), expiryBound(7))).toBeLessThan(0);
    expect(Buffer.compare(expiryKey(8, d), expiryBound(7))).toBeGreaterThanOrEqual(0);
  });

  it('hint keys: "h", owner, 0, hash, key', () => {
    const owner = Buffer.from('node-1');
    const h = hintKey(owner, 1n, Buffer.from('k'));
    expect(h.toString('hex')).toBe('68' + owner.toString('hex') + '00' + '0000000000000001' + '6b');
    expect(hintKeyOwner(h).toString()).toBe('node-1');
    expect(h.subarray(0, hintPrefix(owner).length)).toEqual(hintPrefix(owner));
  });

  it('metadata keys: "m", name', () => {
    expect(metaKey('node.id').toString()).toBe('mnode.id');
  });

  it('partition ranges tile the data area', () => {
    const q = 8;
    const first = partitionRange(0, q);
    expect(first.gte.toString('hex')).toBe('64' + '0'.repeat(16));
    for (let p = 0; p + 1 < q; p++) expect(partitionRange(p, q).lt).toEqual(partitionRange(p + 1, q).gte);
    expect(partitionRange(q - 1, q).lt.toString('hex')).toBe('65');
    expect(partitionRange(0, 1).lt.toString('hex')).toBe('65');
  });
});
