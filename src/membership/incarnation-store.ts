// Where a node keeps its incarnation across restarts, so that a restarted node
// rejoins with a higher incarnation than anything it said before. The storage
// engine provides one backed by its metadata area; these two serve tests and tools.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface IncarnationStore {
  /** The last saved incarnation, or undefined when none was ever saved. */
  load(): Promise<number | undefined>;
  /** Saves n durably before resolving. Calls never overlap (membership serialises them). */
  save(n: number): Promise<void>;
}

export class MemoryIncarnationStore implements IncarnationStore {
  constructor(public value: number | undefined = undefined) {}
  async load(): Promise<number | undefined> {
    return this.value;
  }
  async save(n: number): Promise<void> {
    this.value = n;
  }
}

/** A small text file, replaced atomically (write then rename). */
export class FileIncarnationStore implements IncarnationStore {
  constructor(private readonly path: string) {}

  async load(): Promise<number | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const n = Number(text.trim());
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${this.path}: not an incarnation: ${JSON.stringify(text.slice(0, 40))}`);
    return n;
  }

  async save(n: number): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.tmp`;
    await writeFile(tmp, `${n}\n`, { flush: true });
    await rename(tmp, this.path);
  }
}
