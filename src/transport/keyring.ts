// The cluster keyring: one primary key that seals what this node sends, and any
// number of accepted keys it still opens, so keys rotate without downtime
// (add the new key everywhere, make it primary everywhere, then drop the old one).
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { clientKey } from './client-token.js';

export const KEY_BYTES = 32;
export const KEY_ID_BYTES = 8;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const SEAL_VERSION = 1;
/** Bytes a sealed message adds to its payload. */
export const SEAL_OVERHEAD = 1 + KEY_ID_BYTES + NONCE_BYTES + TAG_BYTES;

/** First 8 bytes of SHA-256(key): names a key on the wire without revealing it. */
export function keyIdOf(key: Uint8Array): Buffer {
  return createHash('sha256').update(key).digest().subarray(0, KEY_ID_BYTES);
}

/**
 * Parses a key given as 64 hex digits or base64 of 32 bytes (surrounding white space
 * ignored). Throws a RangeError naming the problem otherwise.
 */
export function parseKey(text: string): Buffer {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, 'hex');
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(t)) {
    const b = Buffer.from(t, 'base64');
    if (b.length === KEY_BYTES) return b;
  }
  throw new RangeError(`a cluster key must be ${KEY_BYTES} bytes, written as 64 hex digits or base64`);
}

export class Keyring {
  private readonly keys = new Map<string, Buffer>();
  private primaryKey: Buffer;
  private primaryId: Buffer;

  /** primary seals; `accepted` (which may include primary) also open. */
  constructor(primary: Uint8Array, accepted: Uint8Array[] = []) {
    for (const k of [primary, ...accepted]) {
      if (k.length !== KEY_BYTES) throw new RangeError(`a cluster key must be ${KEY_BYTES} bytes, got ${k.length}`);
      this.keys.set(keyIdOf(k).toString('hex'), Buffer.from(k));
    }
    this.primaryKey = Buffer.from(primary);
    this.primaryId = keyIdOf(primary);
  }

  /** A keyring with a fresh random key, for tests and local clusters. */
  static random(): Keyring {
    return new Keyring(randomBytes(KEY_BYTES));
  }

  get primaryKeyId(): Buffer {
    return this.primaryId;
  }

  /** Adds a key that opens (and may later become primary). */
  add(key: Uint8Array): void {
    if (key.length !== KEY_BYTES) throw new RangeError(`a cluster key must be ${KEY_BYTES} bytes`);
    this.keys.set(keyIdOf(key).toString('hex'), Buffer.from(key));
  }

  /** Makes an accepted key the primary. */
  use(key: Uint8Array): void {
    this.add(key);
    this.primaryKey = Buffer.from(key);
    this.primaryId = keyIdOf(key);
  }

  /** Removes a key; the primary cannot be removed. */
  remove(key: Uint8Array): void {
    const id = keyIdOf(key);
    if (id.equals(this.primaryId)) throw new RangeError('cannot remove the primary key');
    this.keys.delete(id.toString('hex'));
  }

  keyById(id: Uint8Array): Buffer | undefined {
    return this.keys.get(Buffer.from(id).toString('hex'));
  }

  /**
   * AES-256-GCM with the primary key: version(1) keyId(8) nonce(12) ciphertext tag(16).
   * `aad` (e.g. a message kind) is authenticated but not sent.
   */
  seal(payload: Uint8Array, aad?: Uint8Array): Buffer {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.primaryKey, nonce);
    if (aad) cipher.setAAD(aad);
    const body = cipher.update(payload);
    cipher.final();
    return Buffer.concat([Buffer.of(SEAL_VERSION), this.primaryId, nonce, body, cipher.getAuthTag()]);
  }

  /** The payload of a sealed message, or undefined when no key opens it (never throws). */
  open(sealed: Uint8Array, aad?: Uint8Array): Buffer | undefined {
    if (sealed.length < SEAL_OVERHEAD || sealed[0] !== SEAL_VERSION) return undefined;
    const key = this.keyById(sealed.subarray(1, 1 + KEY_ID_BYTES));
    if (key === undefined) return undefined;
    const nonce = sealed.subarray(1 + KEY_ID_BYTES, 1 + KEY_ID_BYTES + NONCE_BYTES);
    const body = sealed.subarray(1 + KEY_ID_BYTES + NONCE_BYTES, sealed.length - TAG_BYTES);
    const tag = sealed.subarray(sealed.length - TAG_BYTES);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, nonce);
      if (aad) decipher.setAAD(aad);
      decipher.setAuthTag(tag);
      const out = decipher.update(body);
      decipher.final();
      return out;
    } catch {
      return undefined;
    }
  }

  /**
   * The keyring a connection from client `name` is checked with: the one key
   * derived (client-token.ts) from a key of this ring whose id is `keyId`, or
   * undefined when no key of this ring derives it.
   */
  clientRing(name: string, keyId: Uint8Array): Keyring | undefined {
    for (const k of this.keys.values()) {
      const derived = clientKey(k, name);
      if (keyIdOf(derived).equals(keyId)) return new Keyring(derived);
    }
    return undefined;
  }

  /** Whether `key` is a key of this ring (constant time in its bytes). */
  holds(key: Uint8Array): boolean {
    const mine = this.keyById(keyIdOf(key));
    return mine !== undefined && key.length === KEY_BYTES && timingSafeEqual(mine, key);
  }

  /** Whether `key` is client `name`'s token key under a key of this ring. */
  holdsClient(name: string, key: Uint8Array): boolean {
    if (key.length !== KEY_BYTES) return false;
    for (const k of this.keys.values()) if (timingSafeEqual(clientKey(k, name), key)) return true;
    return false;
  }

  /** HMAC-SHA256 with the primary key, for connection handshakes. */
  proof(data: Uint8Array): { keyId: Buffer; proof: Buffer } {
    return { keyId: this.primaryId, proof: createHmac('sha256', this.primaryKey).update(data).digest() };
  }

  /** Checks a proof made by proof() with any key of this ring, in constant time. */
  verify(keyId: Uint8Array, data: Uint8Array, proof: Uint8Array): boolean {
    const key = this.keyById(keyId);
    if (key === undefined || proof.length !== 32) return false;
    return timingSafeEqual(createHmac('sha256', key).update(data).digest(), proof);
  }
}
