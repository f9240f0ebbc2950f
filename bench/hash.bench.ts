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
  let i = 0;
  const single = new Bench({ time: 500 });
  single
    .add('native hash64 (one key per call, 16-64 B)', () => {
      native.hash64(keys[i++ % 1000]!);
    })
    .add('reference xxhash-addon Buffer → BigInt', () => {
      refHash64(keys[i++ % 1000]!);
    })
    .add('native partitionOf', () => {
      native.partitionOf(keys[i++ % 1000]!, 256);
    });
  await single.run();
  printBench(single, 1, 'keys');
  const batch = new Bench({ time: 500 });
  batch.add('native hash64Many (1000 keys per call)', () => {
    native.hash64Many(packed, offsets, out);
  });
  await batch.run();
  printBench(batch, 1000, 'keys');
}
