// Temporary stores for tests: each in its own folder under the OS temp dir,
// closed and removed after every test.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { afterEach } from 'vitest';
import { Store } from '../../src/storage/index.js';
import type { StoreOptions } from '../../src/storage/index.js';

export function tempStores() {
  const dirs: string[] = [];
  const stores: Store[] = [];
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });
  return {
    async dir(): Promise<string> {
      const d = await mkdtemp(join(tmpdir(), 'shoal-store-'));
      dirs.push(d);
      return d;
    },
    /** Opens a store; no background sweep unless asked for. */
    async open(options: Partial<StoreOptions> = {}): Promise<Store> {
      const path = options.path ?? (await this.dir());
      const s = await Store.open({ sweepIntervalMs: 0, ...options, path });
      stores.push(s);
      return s;
    },
  };
}

/** Every LevelDB entry of a closed store, as hex pairs, in key order. */
export async function dump(path: string): Promise<[string, string][]> {
  const db = new ClassicLevel<Buffer, Buffer>(path, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  try {
    const all = await db.iterator().all();
    return all.map(([k, v]) => [k.toString('hex'), v.toString('hex')]);
  } finally {
    await db.close();
  }
}

/** The keys of one area ('d', 'h', 't', 'm') of a dump. */
export function area(entries: [string, string][], letter: string): string[] {
  const prefix = Buffer.from(letter).toString('hex');
  return entries.filter(([k]) => k.startsWith(prefix)).map(([k]) => k);
}

/** Polls pred every few ms until it holds, or fails after timeoutMs. */
export async function waitFor(pred: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const b = (s: string): Buffer => Buffer.from(s);
export const texts = (values: Buffer[]): string[] => values.map((v) => v.toString()).sort();
