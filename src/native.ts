// The typed face of the C++ addon (native/). Everything native is reached through
// this module; argument errors arrive as TypeError / RangeError.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface NativeAddon {
  /** XXH64 (seed 0) of the key bytes. */
  hash64(key: Uint8Array): bigint;
  /** Hashes keys[offsets[i]..offsets[i+1]) into out[i] for every i < offsets.length - 1. */
  hash64Many(keys: Uint8Array, offsets: Uint32Array, out: BigUint64Array): void;
  /** Top log2(q) bits of hash64(key); q is a power of two from 1 to 65536. */
  partitionOf(key: Uint8Array, q: number): number;
}

/** The package root: the nearest folder above this module whose package.json names shoal. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'shoal') {
      return dir;
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('shoal: cannot find the package root from ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

function load(): NativeAddon {
  const root = packageRoot();
  const candidates = [join(root, 'build', 'Release', 'shoal.node'), join(root, 'build', 'Debug', 'shoal.node')];
  const found = candidates.find((p) => existsSync(p));
  if (found === undefined) {
    throw new Error(`shoal: the native addon is not built (looked for ${candidates.join(', ')}); run "npm ci" or "npm run build"`);
  }
  return createRequire(import.meta.url)(found) as NativeAddon;
}

export const native: NativeAddon = load();
