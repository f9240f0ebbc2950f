import { randomBytes } from 'node:crypto';
import { Bench } from 'tinybench';
import { native } from '../src/native.js';
import { refHash64 } from '../src/reference/index.js';
import { printBench } from './table.js';

export async function run(): Promise<void> {
  const keys = Array.from({ length: 1000 }, (_, i) => randomBytes(16 + (i % 48)));
  const offsets = new Uint32Array(keys.length + 1);
  for (let i = 0; i < keys.length; i++) offsets[i + 1] = offsets[i]! + keys[i]!.length;
  const packed = Buffer.concat(keys);
  const out = new BigUint64Array(keys.length);
  // 1000 calls per iteration, so the per-call rate is not swamped by the
  // benchmark's own per-iteration overhead. (A native call is never optimized
  // away, so its result need not be used.)
  const CALLS = 1000;
  let sink = 0;
  const single = new Bench({ time: 500 });
  single
    .add('native hash64 (one key per call, 16-64 B)', () => {
      for (let i = 0; i < CALLS; i++) native.hash64(keys[i]!);
    })
    .add('reference xxhash-addon Buffer → BigInt', () => {
      for (let i = 0; i < CALLS; i++) refHash64(keys[i]!);
    })
    .add('native partitionOf', () => {
      for (let i = 0; i < CALLS; i++) sink += native.partitionOf(keys[i]!, 256);
    });
  await single.run();
  printBench(single, CALLS, 'keys');
  if (sink < 0) console.log(sink);
  const batch = new Bench({ time: 500 });
  batch.add('native hash64Many (1000 keys per call)', () => {
    native.hash64Many(packed, offsets, out);
  });
  await batch.run();
  printBench(batch, 1000, 'keys');
}
