// Gossip datagrams on the wire: a GossipPacket (proto/shoal.proto), sealed with the
// cluster keyring (AES-256-GCM, docs/protocol.md "UDP datagrams"). Piggybacked
// updates are encoded once when queued and appended to each packet as raw
// protobuf fields, which is how protobuf merges a repeated field.
import { GossipPacketCodec, schema, varintSize, writeVarint } from '../codec/index.js';
import type { GossipPacket, MemberUpdate } from '../codec/index.js';
import { SEAL_OVERHEAD } from '../transport/index.js';
import type { Keyring } from '../transport/index.js';
import { isValidPacket } from './validate.js';

/** Authenticated, not sent: binds a sealed datagram to its purpose. */
const AAD = Buffer.from('shoal/gossip/1');
/** GossipPacket.updates is field 10, length-delimited: tag (10 << 3) | 2. */
const UPDATES_TAG = (10 << 3) | 2;

const MemberUpdateType = schema.lookupType('shoal.MemberUpdate');

export type OpenResult = { packet: GossipPacket } | { error: 'auth' | 'decode' };

export class PacketCodec {
  constructor(
    private readonly keyring: Keyring,
    readonly maxDatagramBytes: number,
  ) {}

  /** The bytes one update adds to a packet: its field tag, length and body. */
  encodeUpdate(update: MemberUpdate): Buffer {
    const body = MemberUpdateType.encode(update as never).finish();
    const out = Buffer.allocUnsafe(1 + varintSize(body.length) + body.length);
    out[0] = UPDATES_TAG;
    const at = writeVarint(out, 1, body.length);
    out.set(body, at);
    return out;
  }

  /** Encodes `base` without its updates: the head of a packet. */
  encodeHead(base: GossipPacket): Uint8Array {
    const saved = base.updates;
    base.updates = [];
    try {
      return GossipPacketCodec.encode(base);
    } finally {
      base.updates = saved;
    }
  }

  /** The packet: its head followed by pre-encoded update fields. */
  join(head: Uint8Array, updates: readonly { bytes: Uint8Array }[]): Uint8Array {
    if (updates.length === 0) return head;
    let size = head.length;
    for (const u of updates) size += u.bytes.length;
    const out = Buffer.allocUnsafe(size);
    out.set(head, 0);
    let at = head.length;
    for (const u of updates) {
      out.set(u.bytes, at);
      at += u.bytes.length;
    }
    return out;
  }

  /** Bytes left for piggybacked updates after a packet whose encoding takes baseBytes. */
  budget(baseBytes: number): number {
    return this.maxDatagramBytes - SEAL_OVERHEAD - baseBytes;
  }

  seal(payload: Uint8Array): Buffer {
    return this.keyring.seal(payload, AAD);
  }

  /** Opens, decodes and validates one datagram; never throws. */
  open(datagram: Uint8Array): OpenResult {
    const payload = this.keyring.open(datagram, AAD);
    if (payload === undefined) return { error: 'auth' };
    let packet: GossipPacket;
    try {
      packet = GossipPacketCodec.decode(payload);
    } catch {
      return { error: 'decode' };
    }
    if (!isValidPacket(packet)) return { error: 'decode' };
    return { packet };
  }
}
