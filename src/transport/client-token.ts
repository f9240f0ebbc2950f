// Client tokens: what an application holds instead of the cluster key. A token is
// a name and a key derived from a cluster key and that name, so nodes check it
// without storing tokens, and its holder can read and write keys but cannot
// gossip, push rings, replicate or derive another token (docs/protocol.md,
// "Client tokens").
import { createHmac } from 'node:crypto';

/** A token name: what nodes log, count and revoke it by. */
export const CLIENT_NAME = /^[A-Za-z0-9_-]{1,64}$/;

const LABEL = 'shoal client key v1\0';
/** An HMAC-SHA256 output: the size of a cluster key too. */
const KEY_BYTES = 32;

/** The key of client `name` under one cluster key. */
export function clientKey(clusterKey: Uint8Array, name: string): Buffer {
  return createHmac('sha256', clusterKey).update(LABEL + name, 'utf8').digest();
}

/** `name:key` (the key base64url), what `shoal token` prints and the SDK takes. */
export function formatToken(name: string, key: Uint8Array): string {
  if (!CLIENT_NAME.test(name)) throw new RangeError(`a client name must be 1 to 64 letters, digits, _ or -, got "${name}"`);
  return `${name}:${Buffer.from(key).toString('base64url')}`;
}

/** Parses `name:key`; throws RangeError naming the problem. */
export function parseToken(text: string): { name: string; key: Buffer } {
  const m = /^([^:]*):([A-Za-z0-9_-]+)$/.exec(text.trim());
  if (m === null) throw new RangeError('a client token must be name:key, as `shoal token <name>` prints it');
  if (!CLIENT_NAME.test(m[1]!)) throw new RangeError(`a client name must be 1 to 64 letters, digits, _ or -, got "${m[1]}"`);
  const key = Buffer.from(m[2]!, 'base64url');
  if (key.length !== KEY_BYTES) throw new RangeError(`a client token's key must be ${KEY_BYTES} bytes`);
  return { name: m[1]!, key };
}
