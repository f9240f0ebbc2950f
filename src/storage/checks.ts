// Input checks at the store's face. Each throws a ShoalError with a stable code
// before anything is read or written.
import { BadRequestError, TooLargeError } from '../errors.js';

export function checkKey(key: unknown, maxKeyBytes: number): Uint8Array {
  if (!(key instanceof Uint8Array)) throw new BadRequestError('key must be a Buffer or Uint8Array');
  if (key.length === 0) throw new BadRequestError('key must not be empty');
  if (key.length > maxKeyBytes) throw new TooLargeError(`key of ${key.length} bytes is over the ${maxKeyBytes}-byte limit`);
  return key;
}

export function checkValue(value: unknown, maxValueBytes: number): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new BadRequestError('value must be a Buffer or Uint8Array');
  if (value.length > maxValueBytes) throw new TooLargeError(`value of ${value.length} bytes is over the ${maxValueBytes}-byte limit`);
  return value;
}

/** An options argument: undefined or a plain object. */
export function checkOptions<T extends object>(options: unknown): Partial<T> | undefined {
  if (options === undefined || options === null) return undefined;
  if (typeof options !== 'object') throw new BadRequestError('options must be an object');
  return options as Partial<T>;
}

/** A TTL in ms: 0 or absent means none. */
export function checkTtl(ttlMs: unknown): number {
  if (ttlMs === undefined) return 0;
  if (typeof ttlMs !== 'number' || !Number.isSafeInteger(ttlMs) || ttlMs < 0) {
    throw new BadRequestError('ttlMs must be a non-negative integer');
  }
  return ttlMs;
}

/** A staged-state callback: undefined or a function. */
export function checkStaged<F>(staged: F | undefined): F | undefined {
  if (staged !== undefined && typeof staged !== 'function') throw new BadRequestError('staged must be a function');
  return staged;
}

/** A hint owner (a node id): 1..255 bytes of UTF-8 without NUL. Returns its bytes. */
export function checkOwner(owner: unknown): Buffer {
  if (typeof owner !== 'string') throw new BadRequestError('hint owner must be a string');
  const b = Buffer.from(owner, 'utf8');
  if (b.length === 0 || b.length > 255 || b.includes(0)) throw new BadRequestError('hint owner must be 1..255 bytes without NUL');
  return b;
}

/** A metadata name: 1..255 bytes of UTF-8. */
export function checkMetaName(name: unknown): string {
  if (typeof name !== 'string') throw new BadRequestError('metadata name must be a string');
  const n = Buffer.byteLength(name, 'utf8');
  if (n === 0 || n > 255) throw new BadRequestError('metadata name must be 1..255 bytes');
  return name;
}

/** q a power of two from 1 to 65536; partition 0..q-1. */
export function checkPartition(partition: unknown, q: unknown): void {
  if (typeof q !== 'number' || !Number.isInteger(q) || q < 1 || q > 65536 || (q & (q - 1)) !== 0) {
    throw new RangeError('q must be a power of two from 1 to 65536');
  }
  if (typeof partition !== 'number' || !Number.isInteger(partition) || partition < 0 || partition >= q) {
    throw new RangeError(`partition must be an integer from 0 to ${q - 1}`);
  }
}
