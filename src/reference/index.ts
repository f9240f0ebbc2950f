// Plain TypeScript implementations of every native function: the specification the
// C++ addon is tested against, and the baseline its benchmarks are measured against.
export * from './hash.js';
export * from './clock.js';
export * from './merkle.js';
