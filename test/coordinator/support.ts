// Coordinator options for tests: the cluster defaults (N=3, R=W=2), generous
// timeouts and the usual limits, with what a test sets over them; and the real
// stores the coordinators run over.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CoordinatorOptions } from '../../src/coordinator/index.js';
import { Store, type StoreOptions } from '../../src/storage/index.js';
import { systemClock } from '../../src/time.js';

export function coordinatorOptions(o: Pick<CoordinatorOptions, 'nodeId' | 'local' | 'peers' | 'cluster'> & Partial<CoordinatorOptions>): CoordinatorOptions {
  return {
    n: 3,
    r: 2,
    w: 2,
    requestTimeoutMs: 5000,
    replicaTimeoutMs: 1000,
    maxKeyBytes: 1024,
    maxValueBytes: 1024 * 1024,
    clock: systemClock,
    ...o,
  };
}

/** Real stores, one per node id, in a temporary folder; closeAll() (in afterEach) closes them and removes it. */
export class TestStores extends Map<string, Store> {
  private dir: string | undefined;

  constructor(private readonly prefix: string) {
    super();
  }

  /** Opens a store for each id (sweeps off), with `options(id)` over the defaults. */
  async open(ids: readonly string[], options: (id: string) => Partial<StoreOptions> = () => ({})): Promise<void> {
    this.dir ??= await mkdtemp(join(tmpdir(), this.prefix));
    for (const id of ids) this.set(id, await Store.open({ path: join(this.dir, id), sweepIntervalMs: 0, ...options(id) }));
  }

  async closeAll(): Promise<void> {
    for (const s of this.values()) await s.close();
    this.clear();
    if (this.dir !== undefined) await rm(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}
