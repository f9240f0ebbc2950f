import { describe, expect, it } from 'vitest';
import { b, tempStores, texts } from './support.js';

describe('store: record cache memory', () => {
  const stores = tempStores();

  // A session store's shape: a few keys read on every request, written among
  // many that are written once. (A cache of Buffers cut from Node's 8 KiB pool
  // slabs once kept several times its budget allocated this way; the ring now
  // holds copies, and never grows past the budget.)
  it('entries in use keep no more memory allocated than the cache budget, and hot keys stay', async () => {
    const cacheBytes = 256 * 1024;
    const s = await stores.open({ cacheBytes });
    const value = Buffer.alloc(300, 1);
    const hot = 300;
    let written = 0;
    let next = 0;
    const writer = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) {
        const k = next++;
        if (k % 20 === 0 && written < hot) await s.put(b(`hot:${written++}`), b(`hot value ${written - 1}`));
        else await s.put(b(`cold:${k}`), value);
        if (written > 0) await s.get(b(`hot:${(k * 7919) % written}`));
      }
    };
    await Promise.all(Array.from({ length: 16 }, () => writer(1000)));
    const f = s.cacheFootprint();
    expect(f.bytes).toBeLessThanOrEqual(cacheBytes);
    expect(f.records).toBeGreaterThan(hot);
    // The memory the ring has taken holds the live records and stays within the budget.
    expect(f.backingBytes).toBeGreaterThanOrEqual(f.bytes);
    expect(f.backingBytes).toBeLessThanOrEqual(cacheBytes);

    // The gets kept the hot keys in the cache, far more of them than the cold
    // writes' churn alone would leave: rewriting them needs few reads.
    const got = await Promise.all(Array.from({ length: hot }, (_, i) => s.get(b(`hot:${i}`))));
    const loads = s.stats.loads;
    await Promise.all(got.map((g, i) => s.put(b(`hot:${i}`), b(`hot value ${i}`), { context: g.context })));
    expect(s.stats.loads - loads).toBeLessThan(hot / 2); // 61 of 300 here; 300 with no second chance

    // The entries hold the right records, and a write over one with its context replaces it.
    expect(got.map((g) => texts(g.values).join())).toEqual(Array.from({ length: hot }, (_, i) => `hot value ${i}`));
    await s.put(b('hot:7'), b('replaced'), { context: (await s.get(b('hot:7'))).context });
    expect(texts((await s.get(b('hot:7'))).values)).toEqual(['replaced']);
  });
});
