// The key filter saved at a clean close and taken back at the next open, so that
// a restart does not rescan every key (3.4 s of event loop per million here).
//
// A saved filter is only right for the exact database it was saved with: a key
// written by anyone else (an older Shoal without the filter, a repair tool, a
// crash after more writes) and missing from it would read as absent, and a write
// would then replace siblings it never saw. So the file records a digest of the
// LevelDB folder's listing (names, sizes, modification times) taken after close;
// LevelDB starts a new log and manifest at every open, so any open in between,
// by any program, changes the listing. The file is also deleted when taken,
// before LevelDB is opened: a process that crashes later leaves nothing to reuse.
import { createHash } from 'node:crypto';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { open, readFile, readdir, rename, stat, unlink } from 'node:fs/promises';
import { KeyFilter, type StageState } from './key-filter.js';

/** The file's name in the LevelDB folder (LevelDB ignores names it does not use). */
export const FILTER_FILE = 'SHOAL-KEYFILTER';
const MAGIC = Buffer.from('SHOALKF1');
const DIGEST_BYTES = 32;

/** Saves a ready filter for the closed database in `dir`. Best effort: on failure the next open scans. */
export async function saveFilter(dir: string, filter: KeyFilter): Promise<boolean> {
  if (!filter.ready || endianness() !== 'LE') return false;
  const tmp = join(dir, `${FILTER_FILE}.tmp`);
  try {
    const parts: Buffer[] = [MAGIC, await listingDigest(dir)];
    const stages = filter.snapshot();
    parts.push(u32(stages.length));
    for (const s of stages) {
      parts.push(u32(s.capacity), u32(s.count), u32(s.words.length), Buffer.from(s.words.buffer, s.words.byteOffset, s.words.byteLength));
    }
    const hash = createHash('sha256');
    for (const p of parts) hash.update(p);
    parts.push(hash.digest());
    const fh = await open(tmp, 'w');
    try {
      await fh.writev(parts);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(dir, FILTER_FILE));
    return true;
  } catch {
    await unlink(tmp).catch(() => undefined);
    return false;
  }
}

/**
 * Takes the saved filter of the (not yet opened) database in `dir`: deletes the
 * file, and returns the filter if the file is intact and the folder is exactly
 * as it was saved with; undefined otherwise (no file, torn, foreign, stale).
 */
export async function takeFilter(dir: string): Promise<KeyFilter | undefined> {
  const file = join(dir, FILTER_FILE);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch {
    return undefined;
  }
  try {
    // Not deleted, not used (the digest would refuse it after this open anyway).
    await unlink(file);
    if (endianness() !== 'LE') return undefined;
    return parse(bytes, await listingDigest(dir));
  } catch {
    return undefined; // whatever went wrong, the store scans: never a reason not to open
  }
}

function parse(b: Buffer, digest: Buffer): KeyFilter | undefined {
  const body = b.length - DIGEST_BYTES;
  if (body < MAGIC.length + DIGEST_BYTES + 4 || !b.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  if (!createHash('sha256').update(b.subarray(0, body)).digest().equals(b.subarray(body))) return undefined;
  let off = MAGIC.length;
  if (!b.subarray(off, off + DIGEST_BYTES).equals(digest)) return undefined;
  off += DIGEST_BYTES;
  const n = b.readUInt32LE(off);
  off += 4;
  const stages: StageState[] = [];
  for (let i = 0; i < n; i++) {
    if (off + 12 > body) return undefined;
    const capacity = b.readUInt32LE(off);
    const count = b.readUInt32LE(off + 4);
    const len = b.readUInt32LE(off + 8);
    off += 12;
    if (off + len * 4 > body) return undefined;
    // A copy: the file's buffer may be unaligned for a Uint32Array.
    const words = new Uint32Array(len);
    Buffer.from(words.buffer).set(b.subarray(off, off + len * 4));
    off += len * 4;
    stages.push({ capacity, count, words });
  }
  if (off !== body) return undefined;
  return KeyFilter.restore(stages);
}

/** A digest of the folder's entries (but the filter's own files and LOCK): name, size, mtime in ns. */
async function listingDigest(dir: string): Promise<Buffer> {
  const names = (await readdir(dir)).filter((n) => n !== 'LOCK' && !n.startsWith(FILTER_FILE)).sort();
  const hash = createHash('sha256');
  for (const name of names) {
    const s = await stat(join(dir, name), { bigint: true });
    hash.update(`${name}\0${s.size}\0${s.mtimeNs}\n`);
  }
  return hash.digest();
}

function u32(v: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32LE(v, 0);
  return b;
}
