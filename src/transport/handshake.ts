// The connection handshake (docs/protocol.md, "TCP frames and handshake"): each side
// sends a Hello with a fresh nonce, then proves it holds a cluster key with an HMAC
// over a transcript of both Hellos and its role. Binding the role stops a proof from
// being reflected back; binding both Hellos (with their nonces) stops replay.
import { randomBytes } from 'node:crypto';
import type { Hello, HelloProof } from '../codec/index.js';
import { CLIENT_NAME } from './client-token.js';
import { KEY_ID_BYTES, type Keyring } from './keyring.js';
import { encodeEnvelope } from './body.js';

/** The RPC protocol version this build speaks. */
export const PROTOCOL_VERSION = 1;
export const NONCE_BYTES = 16;
/** Longest node id a Hello may carry, in UTF-8 bytes. */
export const MAX_NODE_ID_BYTES = 255;
/** Frame limit until a connection is authenticated: Hellos and proofs are small. */
export const HANDSHAKE_MAX_FRAME_BYTES = 1024;

export type Role = 'client' | 'server';

const LABEL = Buffer.from('shoal rpc handshake v1\0', 'latin1');
const ROLE: Record<Role, Buffer> = {
  client: Buffer.from('client\0', 'latin1'),
  server: Buffer.from('server\0', 'latin1'),
};

/** The payload of this side's Hello frame (request id 0), with a fresh nonce; `client` for a token holder. */
export function helloPayload(nodeId: string, client?: { name: string; keyId: Uint8Array }): Uint8Array {
  return encodeEnvelope(0, {
    kind: 'hello',
    value: { nonce: randomBytes(NONCE_BYTES), protocol: PROTOCOL_VERSION, nodeId, ...(client ? { client: client.name, clientKeyId: client.keyId } : {}) },
  });
}

/** What is wrong with a received Hello, or undefined when it is acceptable. */
export function helloProblem(h: Hello): string | undefined {
  if (h.nonce.length !== NONCE_BYTES) return `hello nonce must be ${NONCE_BYTES} bytes`;
  if (h.protocol < 1) return 'hello protocol version must be at least 1';
  if (Buffer.byteLength(h.nodeId) > MAX_NODE_ID_BYTES) return 'hello node id too long';
  if (h.client !== undefined && h.client !== '') {
    if (!CLIENT_NAME.test(h.client)) return 'hello client name must be 1 to 64 letters, digits, _ or -';
    if (h.nodeId !== '') return 'a hello names a node or a client, not both';
    if (h.clientKeyId?.length !== KEY_ID_BYTES) return `hello client key id must be ${KEY_ID_BYTES} bytes`;
  }
  return undefined;
}

/**
 * The bytes the side playing `role` proves: LABEL, role, then the Hello payload it
 * received and the Hello payload it sent, each as u32 BE length + bytes.
 */
export function transcript(role: Role, receivedHello: Uint8Array, sentHello: Uint8Array): Buffer {
  const label = LABEL;
  const r = ROLE[role];
  const out = Buffer.allocUnsafe(label.length + r.length + 8 + receivedHello.length + sentHello.length);
  let off = label.copy(out, 0);
  off += r.copy(out, off);
  off = out.writeUInt32BE(receivedHello.length, off);
  out.set(receivedHello, off);
  off += receivedHello.length;
  off = out.writeUInt32BE(sentHello.length, off);
  out.set(sentHello, off);
  return out;
}

/** The payload of this side's HelloProof frame. */
export function proofPayload(keyring: Keyring, role: Role, receivedHello: Uint8Array, sentHello: Uint8Array): Uint8Array {
  const { keyId, proof } = keyring.proof(transcript(role, receivedHello, sentHello));
  return encodeEnvelope(0, { kind: 'helloProof', value: { keyId, proof } });
}

/**
 * Checks the other side's proof. `theirRole` is the prover's role; from the
 * prover's point of view it received `ourHello` and sent `theirHello`.
 */
export function proofValid(
  keyring: Keyring,
  p: HelloProof,
  theirRole: Role,
  ourHello: Uint8Array,
  theirHello: Uint8Array,
): boolean {
  return keyring.verify(p.keyId, transcript(theirRole, ourHello, theirHello), p.proof);
}
