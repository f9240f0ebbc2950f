import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { native } from '../../src/native.js';
import { singleEntryClock } from '../../src/version/dot.js';

const EMPTY = Buffer.from([1, 0]);

describe('singleEntryClock', () => {
  it('equals the addon\'s vvEvent of the empty clock for random actors and counters of every varint length', () => {
    const counters = [1, 127, 128, 16_383, 16_384, 2 ** 35 - 1, 2 ** 35, 2 ** 49, 2 ** 53 - 1, Date.now() * 1000];
    for (let i = 0; i < 3000; i++) {
      // Runs of one actor too: the encoder keeps the last actor's bytes.
      const actor = i % 3 === 0 ? 42n : randomBytes(8).readBigUInt64LE(0);
      const counter = i < counters.length ? counters[i]! : 1 + Math.floor(Math.random() * 2 ** (1 + (i % 53)));
      expect(singleEntryClock(actor, counter).equals(native.vvEvent(EMPTY, actor, counter))).toBe(true);
    }
  });

  it('rejects counters outside 1..2^53-1 as vvEvent does', () => {
    for (const c of [0, -1, 0.5, 2 ** 53, Number.NaN]) {
      expect(() => singleEntryClock(1n, c)).toThrow(RangeError);
      expect(() => native.vvEvent(EMPTY, 1n, c)).toThrow(RangeError);
    }
  });
});
