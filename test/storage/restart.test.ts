import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.js';
import { Store } from '../../src/storage/index.js';
import { ManualClock } from '../../src/time.js';
import { b, tempStores, texts, waitFor } from './support.js';

describe('store: restart', () => {
  const stores = tempStores();

  it('data, hints, metadata, actor and counter survive close and reopen', async () => {
    const clock = new ManualClock();
    const path = await stores.dir();
    const s1 = await stores.open({ path, clock });
    await s1.put(b('a'), b('1'));
    await s1.put(b('a'), b('2'));
    await s1.put(b('ttl'), b('t'), { ttlMs: 60_000 });
    const remote = await s1.put(b('h'), b('hinted'));
    await s1.putHint('node-b', b('h'), remote);
    await s1.putMeta('node.id', b('node-a'));
    await s1.putMeta('incarnation', Buffer.from([0, 0, 0, 7]));
    const actor = s1.actor;
    const lastDot = (await s1.put(b('c'), b('x'))).siblings[0]!.dot;
    await s1.close();

    const s2 = await stores.open({ path, clock });
    expect(s2.actor).toBe(actor);
    expect(texts((await s2.get(b('a'))).values)).toEqual(['1', '2']);
    expect(texts((await s2.get(b('ttl'))).values)).toEqual(['t']);
    expect((await s2.getMeta('node.id'))!.toString()).toBe('node-a');
    expect(await s2.getMeta('incarnation')).toEqual(Buffer.from([0, 0, 0, 7]));
    expect(s2.hintCount()).toBe(1);
    expect(await s2.hintOwners()).toEqual(['node-b']);
    const hints = [];
    for await (const h of s2.scanHints('node-b')) hints.push(h);
    expect(hints.map((h) => h.key.toString())).toEqual(['h']);
    // The clock stands still, so only the persisted high-water mark keeps the next dot fresh.
    const next = (await s2.put(b('c'), b('y'))).siblings.map((x) => Buffer.from(x.dot));
    expect(next).toHaveLength(2);
    expect(next.filter((d) => d.equals(lastDot))).toHaveLength(1);
    // And the TTL index still works after the restart.
    clock.advance(60_000);
    expect((await s2.get(b('ttl'))).values).toEqual([]);
    clock.advance(10_000); // the default clock-skew allowance
    expect(await s2.sweep()).toBe(1);
    expect((await s2.getSet(b('ttl')))!.siblings[0]!.value.length).toBe(0);
  });

  it('two stores in two folders have different actors', async () => {
    const s1 = await stores.open();
    const s2 = await stores.open();
    expect(s1.actor).not.toBe(s2.actor);
  });

  it('a second opener of the same folder is refused while the first holds it', async () => {
    const path = await stores.dir();
    await stores.open({ path });
    await expect(Store.open({ path, sweepIntervalMs: 0 })).rejects.toThrow();
  });

  it('after close, calls fail with SHOAL_CLOSED and close is idempotent', async () => {
    const s = await stores.open();
    const pending = s.put(b('k'), b('v'));
    const closing = s.close();
    await pending; // accepted before close: committed
    await closing;
    await s.close();
    await expect(s.get(b('k'))).rejects.toMatchObject({ code: 'SHOAL_CLOSED' });
    await expect(s.put(b('k'), b('v'))).rejects.toMatchObject({ code: 'SHOAL_CLOSED' });
  });

  for (const sync of [false, true]) {
    it(`every write acknowledged before SIGKILL is there after reopen (sync: ${sync})`, async () => {
      const path = await stores.dir();
      const child = spawn(process.execPath, [join(packageRoot(), 'test/storage/crash-writer.js'), packageRoot(), path, sync ? '1' : '0'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
      try {
        await waitFor(() => /acked 200\n/.test(out) || child.exitCode !== null, 30_000);
        expect(err).toBe('');
        child.kill('SIGKILL');
        await exited;
      } finally {
        child.kill('SIGKILL');
        await exited;
      }
      const acked = [...out.matchAll(/acked (\d+)\n/g)].map((m) => Number(m[1]));
      const last = Math.max(...acked);
      expect(last).toBeGreaterThanOrEqual(200);
      const s = await stores.open({ path });
      expect((await s.getMeta('node.id'))!.toString()).toBe('crash-writer');
      for (let i = 0; i <= last; i++) {
        for (let j = 0; j < 4; j++) {
          expect(texts((await s.get(b(`key-${i}-${j}`))).values), `key-${i}-${j}`).toEqual([`value-${i}-${j}`]);
        }
      }
    });
  }
});
