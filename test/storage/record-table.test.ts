// RecordTable alone, over a real LevelDB: keys whose slotHash collide share a
// chain, and every update, read, eviction and removal must still find the slot
// of its own key. The kinds here collide on purpose (one chain for all keys, or
// three), against a Map as the model.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { CommitQueue } from '../../src/storage/commit-queue.js';
import { ReadQueue, type ReadMode } from '../../src/storage/read-queue.js';
import { RecordTable, type RecordKind } from '../../src/storage/record-table.js';

type Db = ClassicLevel<Buffer, Buffer>;

const opened: { db: Db; dir: string }[] = [];
afterEach(async () => {
  for (const { db, dir } of opened.splice(0)) {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  }
});

async function openDb(): Promise<Db> {
  const dir = await mkdtemp(join(tmpdir(), 'shoal-record-table-'));
  const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  opened.push({ db, dir });
  return db;
}

function bytesKind(slotHash: (k: Buffer) => number): RecordKind<Buffer> {
  return { decode: (b) => Buffer.from(b), encode: (v) => Buffer.from(v), slotHash };
}

function table(db: Db, slotHash: (k: Buffer) => number, cacheBytes: number, reads: ReadMode): { t: RecordTable<Buffer>; q: CommitQueue } {
  const q = new CommitQueue(db, { sync: false });
  return { t: new RecordTable(bytesKind(slotHash), q, new ReadQueue(db, reads), cacheBytes), q };
}

type Op = { kind: 'set'; key: number; value: number } | { kind: 'del'; key: number } | { kind: 'read'; key: number } | { kind: 'drop' };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), key: fc.nat(11), value: fc.nat(255) }),
  fc.record({ kind: fc.constant('del' as const), key: fc.nat(11) }),
  fc.record({ kind: fc.constant('read' as const), key: fc.nat(11) }),
  fc.constant({ kind: 'drop' as const }),
);

// Keys of several lengths, so that byte comparison is what tells most of them apart.
const keyOf = (k: number): Buffer => Buffer.from(`k${'x'.repeat(k % 4)}${k}`);

describe('RecordTable: keys whose slot hashes collide', () => {
  for (const [name, slotHash] of [
    ['every key on one chain', () => 7],
    ['three chains', (k: Buffer) => k[k.length - 1]! % 3],
  ] as const) {
    for (const reads of ['sync', 'batched'] as const) {
      it(`${name}, ${reads} reads: each key keeps its own state through updates, evictions and cache drops`, async () => {
        const db = await openDb();
        let round = 0;
        await fc.assert(
          fc.asyncProperty(fc.array(fc.array(op, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 12 }), async (turns) => {
            // A prefix of its own per run: runs share the database.
            const prefix = `r${round++}:`;
            const key = (k: number) => Buffer.concat([Buffer.from(prefix), keyOf(k)]);
            // A budget of a few entries: the hand evicts along the chains all the time.
            const { t, q } = table(db, slotHash, 3 * 200, reads);
            const model = new Map<number, Buffer>();
            for (const turn of turns) {
              // One turn's operations go into one batch, several on a key at once.
              const pending: Promise<unknown>[] = [];
              const expectReads: [Promise<Buffer | undefined>, Buffer | undefined][] = [];
              for (const o of turn) {
                if (o.kind === 'set') {
                  const v = Buffer.from([o.value, o.key]);
                  model.set(o.key, v);
                  pending.push(t.update(key(o.key), () => v));
                } else if (o.kind === 'del') {
                  model.delete(o.key);
                  pending.push(t.update(key(o.key), () => undefined));
                } else if (o.kind === 'read') {
                  // The latest state an update sees is the model's, committed or not.
                  const seen = model.get(o.key);
                  pending.push(
                    t.update(key(o.key), (cur) => {
                      expect(cur).toEqual(seen);
                      return cur;
                    }),
                  );
                } else t.dropCache();
              }
              await Promise.all(pending);
              await q.idle();
              for (let k = 0; k < 12; k++) expectReads.push([t.read(key(k)), model.get(k)]);
              for (const [got, want] of expectReads) expect(await got).toEqual(want);
              expect(t.active).toBe(0);
            }
            // What is on disk is the model too.
            for (let k = 0; k < 12; k++) {
              const onDisk = db.getSync(key(k));
              expect(onDisk === undefined ? undefined : Buffer.from(onDisk)).toEqual(model.get(k));
            }
            expect(t.cached.bytes).toBeLessThanOrEqual(3 * 200);
          }),
          { numRuns: 60 },
        );
      });
    }
  }

  it('a key in progress is found again after a colliding key before it has committed', async () => {
    const db = await openDb();
    const { t } = table(db, () => 5, 1 << 20, 'sync');
    const [a, b] = [Buffer.from('first'), Buffer.from('second')];
    const first = t.update(a, () => Buffer.from('a1'));
    await new Promise((resolve) => setImmediate(resolve)); // a's batch is being written
    const second = t.update(b, () => Buffer.from('b1')); // the next batch
    await first; // a has committed and left the table; b has not
    const seen: (Buffer | undefined)[] = [];
    const third = t.update(b, (cur) => {
      seen.push(cur);
      return Buffer.from('b2');
    });
    await Promise.all([second, third]);
    expect(seen).toEqual([Buffer.from('b1')]);
    expect(await t.read(b)).toEqual(Buffer.from('b2'));
  });

  it('a cached entry is found again among colliding keys, with no read', async () => {
    const db = await openDb();
    const { t, q } = table(db, () => 1, 1 << 20, 'sync');
    const keys = Array.from({ length: 50 }, (_, i) => Buffer.from(`same-chain:${i}`));
    await Promise.all(keys.map((k, i) => t.update(k, () => Buffer.from([i]))));
    await q.idle();
    const loads = t.loads;
    for (let i = 0; i < keys.length; i++) expect(await t.update(keys[i]!, (cur) => cur)).toEqual(Buffer.from([i]));
    expect(t.loads).toBe(loads);
    expect(t.cached.records).toBe(keys.length);
  });
});
