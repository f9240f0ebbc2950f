// Coordinator options for tests: the cluster defaults (N=3, R=W=2), generous
// timeouts and the usual limits, with what a test sets over them.
import type { CoordinatorOptions } from '../../src/coordinator/index.js';
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
