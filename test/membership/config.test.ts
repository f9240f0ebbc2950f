import { describe, expect, it } from 'vitest';
import {
  deadDetectionBoundMs,
  fastProfile,
  lanProfile,
  pushPullInterval,
  resolveConfig,
  retransmitLimit,
  suspicionTimeouts,
} from '../../src/membership/index.js';

describe('membership config', () => {
  it('LAN defaults are memberlist\'s', () => {
    const c = resolveConfig();
    expect(c).toEqual(lanProfile);
    expect([c.probeIntervalMs, c.probeTimeoutMs, c.indirectChecks, c.suspicionMult, c.retransmitMult, c.pushPullIntervalMs]).toEqual([
      1000, 500, 3, 4, 4, 30_000,
    ]);
    expect(c.maxDatagramBytes).toBe(1400);
    expect(resolveConfig({}, 'fast')).toEqual(fastProfile);
  });

  it('applies overrides and rejects bad ones with RangeError', () => {
    expect(resolveConfig({ indirectChecks: 5 }).indirectChecks).toBe(5);
    expect(() => resolveConfig({ probeTimeoutMs: 2000 })).toThrow(RangeError);
    expect(() => resolveConfig({ probeIntervalMs: 0 })).toThrow(RangeError);
    expect(() => resolveConfig({ maxDatagramBytes: 100 })).toThrow(RangeError);
    expect(() => resolveConfig({ nonsense: 1 } as never)).toThrow(RangeError);
    expect(() => resolveConfig({}, 'wan' as never)).toThrow(RangeError);
  });

  it('retransmit limit is retransmitMult · ceil(log10(n + 1))', () => {
    const c = resolveConfig();
    expect(retransmitLimit(c, 1)).toBe(4);
    expect(retransmitLimit(c, 9)).toBe(4);
    expect(retransmitLimit(c, 10)).toBe(8);
    expect(retransmitLimit(c, 128)).toBe(12);
  });

  it('suspicion: min = mult · max(1, log10 n) · period, max = 6 · min, k = mult − 2', () => {
    const c = resolveConfig();
    expect(suspicionTimeouts(c, 5)).toEqual({ minMs: 4000, maxMs: 24_000, confirmations: 2 });
    const big = suspicionTimeouts(c, 1000);
    expect(big.minMs).toBeCloseTo(12_000);
    expect(big.maxMs).toBeCloseTo(72_000);
    expect(suspicionTimeouts(c, 3).confirmations).toBe(0);
  });

  it('push-pull interval grows past 32 members', () => {
    const c = resolveConfig();
    expect(pushPullInterval(c, 32)).toBe(30_000);
    expect(pushPullInterval(c, 33)).toBe(60_000);
    expect(pushPullInterval(c, 64)).toBe(60_000);
    expect(pushPullInterval(c, 256)).toBe(120_000);
  });

  it('the dead-detection bound covers two probe passes at the slowest health plus the longest suspicion', () => {
    const c = resolveConfig({}, 'fast');
    expect(deadDetectionBoundMs(c, 10)).toBe(19 * 200 * 8 + suspicionTimeouts(c, 10).maxMs);
  });
});
