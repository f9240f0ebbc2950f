import { describe, expect, it } from 'vitest';
import { native } from '../../src/native.js';
import { randomBytes } from 'node:crypto';
import { refHash64 as reference } from '../../src/reference/index.js';

describe('native hash64', () => {
  it('matches the published XXH64 of "hello"', () => {
    expect(native.hash64(Buffer.from('hello')).toString(16)).toBe('26c7827d889f6da3');
  });

  it('agrees with xxhash-addon on random keys of every length 0..1100', () => {
    for (let len = 0; len <= 1100; len++) {
      const key = randomBytes(len);
      expect(native.hash64(key)).toBe(reference(key));
    }
  });

  it('hashes a subarray without reading beyond it', () => {
    const big = randomBytes(64);
    const view = big.subarray(7, 40);
    expect(native.hash64(view)).toBe(reference(Buffer.from(view)));
  });

  it('hash64Into writes the hash big-endian at the offset and nothing else', () => {
    for (let i = 0; i < 3000; i++) {
      const key = randomBytes(i % 300);
      const out = randomBytes(8 + (i % 13));
      const offset = i % (out.length - 7);
      const expected = Buffer.from(out);
      expected.writeBigUInt64BE(reference(key), offset);
      native.hash64Into(key, out, offset);
      expect(out.equals(expected)).toBe(true);
    }
  });

  it('hash64Into hashes the key before writing, so the two may overlap', () => {
    const b = randomBytes(24);
    const key = Buffer.from(b.subarray(4, 20));
    native.hash64Into(b.subarray(4, 20), b, 8);
    expect(b.readBigUInt64BE(8)).toBe(reference(key));
  });

  it('batch hashing agrees with single hashing', () => {
    const keys = Array.from({ length: 5000 }, (_, i) => randomBytes(i % 97));
    const offsets = new Uint32Array(keys.length + 1);
    for (let i = 0; i < keys.length; i++) offsets[i + 1] = offsets[i]! + keys[i]!.length;
    const out = new BigUint64Array(keys.length);
    native.hash64Many(Buffer.concat(keys), offsets, out);
    keys.forEach((k, i) => expect(out[i]).toBe(reference(k)));
  });

  it('partitionOf is the top log2(q) bits', () => {
    for (let i = 0; i < 2000; i++) {
      const key = randomBytes(1 + (i % 40));
      const h = reference(key);
      for (const q of [1, 2, 256, 1024, 65536]) {
        const bits = BigInt(Math.log2(q));
        expect(native.partitionOf(key, q)).toBe(q === 1 ? 0 : Number(h >> (64n - bits)));
      }
    }
  });

  it('rejects wrong argument types and bad ranges without crashing', () => {
    const bad = native as unknown as Record<string, (...a: unknown[]) => unknown>;
    expect(() => bad.hash64!('hello')).toThrow(TypeError);
    expect(() => bad.hash64!()).toThrow(TypeError);
    expect(() => bad.hash64!(new Uint16Array(2))).toThrow(TypeError);
    expect(() => native.partitionOf(Buffer.from('a'), 3)).toThrow(RangeError);
    expect(() => native.partitionOf(Buffer.from('a'), 0)).toThrow(RangeError);
    expect(() => bad.partitionOf!(Buffer.from('a'), '256')).toThrow(TypeError);
    expect(() => native.hash64Many(Buffer.alloc(4), new Uint32Array([0, 9]), new BigUint64Array(1))).toThrow(RangeError);
    expect(() => native.hash64Many(Buffer.alloc(4), new Uint32Array([3, 1]), new BigUint64Array(1))).toThrow(RangeError);
    expect(() => native.hash64Many(Buffer.alloc(4), new Uint32Array([0, 1, 2]), new BigUint64Array(1))).toThrow(RangeError);
    expect(() => bad.hash64Many!(Buffer.alloc(4), [0, 1], new BigUint64Array(1))).toThrow(TypeError);
    expect(() => native.hash64Into(Buffer.from('a'), Buffer.alloc(8), 1)).toThrow(RangeError);
    expect(() => native.hash64Into(Buffer.from('a'), Buffer.alloc(7), 0)).toThrow(RangeError);
    expect(() => native.hash64Into(Buffer.from('a'), Buffer.alloc(9), -1)).toThrow(RangeError);
    expect(() => native.hash64Into(Buffer.from('a'), Buffer.alloc(9), 0.5)).toThrow(RangeError);
    expect(() => bad.hash64Into!(Buffer.from('a'), new Uint32Array(4), 0)).toThrow(TypeError);
    expect(() => bad.hash64Into!(Buffer.from('a'), Buffer.alloc(9), '0')).toThrow(TypeError);
  });
});
