// Version vectors and dots: native vs the TypeScript reference, on vectors of 3-5
// entries (a key written through 3-5 coordinators). Each iteration makes 1000
// calls, so the per-call rate is not swamped by the benchmark's own overhead.
import { Bench } from 'tinybench';
import { native } from '../src/native.js';
import {
  type Dot,
  type VvEntry,
  refDotsCoveredBy,
  refDotsEncode,
  refDotSync,
  refVvCompare,
  refVvEncode,
  refVvEvent,
  refVvGet,
  refVvMerge,
} from '../src/reference/index.js';
import { printBench } from './table.js';

const CALLS = 1000;
const POOL = 64; // a power of two

// Deterministic pseudo-random numbers, so runs are comparable.
let seed = 0x2545f491;
function rand(n: number): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) % n;
}

const ACTORS = [0x1d3f5a7b9c2e4f60n, 0x2b4d6f8091a3c5e7n, 0x5a6b7c8d9eafb0c1n, 0x8899aabbccddeeffn, 0xf0e1d2c3b4a59687n, 0x0123456789abcdefn];
const NOW = 1_764_000_000_000_000; // counters are time-ordered: ms * 1000

function vector(): VvEntry[] {
  const n = 3 + rand(3);
  const actors = [...ACTORS];
  for (let i = actors.length - 1; i > 0; i--) {
    const j = rand(i + 1);
    [actors[i], actors[j]] = [actors[j]!, actors[i]!];
  }
  actors.length = n;
  return actors.map((a): VvEntry => [a, NOW + rand(4)]).sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
}

interface Case {
  a: Buffer;
  b: Buffer;
  dotsA: Buffer; // two siblings, as a key with a conflict has
  dotsB: Buffer;
  actor: bigint;
}

function siblings(v: VvEntry[]): Buffer {
  return refDotsEncode(v.slice(0, 2).map(([a, c]): Dot => [a, c]));
}

const cases: Case[] = Array.from({ length: POOL }, () => {
  const a = vector();
  const b = vector();
  return { a: refVvEncode(a), b: refVvEncode(b), dotsA: siblings(a), dotsB: siblings(b), actor: ACTORS[rand(ACTORS.length)]! };
});

function task(fn: (c: Case) => unknown): () => void {
  return () => {
    for (let i = 0; i < CALLS; i++) fn(cases[i & (POOL - 1)]!);
  };
}

export async function run(): Promise<void> {
  const bench = new Bench({ time: 300, warmupTime: 50 });
  bench
    .add('native vvCompare', task((c) => native.vvCompare(c.a, c.b)))
    .add('reference vvCompare', task((c) => refVvCompare(c.a, c.b)))
    .add('native vvMerge', task((c) => native.vvMerge(c.a, c.b)))
    .add('reference vvMerge', task((c) => refVvMerge(c.a, c.b)))
    .add('native vvEvent', task((c) => native.vvEvent(c.a, c.actor, NOW + 9)))
    .add('reference vvEvent', task((c) => refVvEvent(c.a, c.actor, NOW + 9)))
    .add('native vvGet', task((c) => native.vvGet(c.a, c.actor)))
    .add('reference vvGet', task((c) => refVvGet(c.a, c.actor)))
    .add('native dotsCoveredBy (2 dots)', task((c) => native.dotsCoveredBy(c.a, c.dotsB)))
    .add('reference dotsCoveredBy (2 dots)', task((c) => refDotsCoveredBy(c.a, c.dotsB)))
    .add('native dotSync (2 + 2 dots)', task((c) => native.dotSync(c.a, c.dotsA, c.b, c.dotsB)))
    .add('reference dotSync (2 + 2 dots)', task((c) => refDotSync(c.a, c.dotsA, c.b, c.dotsB)));
  await bench.run();
  printBench(bench, CALLS, 'calls');
}
