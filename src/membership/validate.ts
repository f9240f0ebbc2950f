// Checks on decoded membership messages. Protobuf decoding accepts any value a
// field can hold; these checks bound the rest (lengths, ports, enum ranges), so
// that nothing accepted from the network can put a nonsense entry in the view.
import { MemberStatus, RingStatus } from '../codec/index.js';
import type { GossipPacket, Member, MemberUpdate, PushPull } from '../codec/index.js';
import { BadRequestError } from '../errors.js';

/** Longest member id, host, dc or rack, in UTF-8 bytes (an id is also an RPC node id). */
export const MAX_NAME_BYTES = 255;
/** Most members a push-pull may carry. */
export const MAX_PUSH_PULL_MEMBERS = 100_000;

const isName = (s: unknown, allowEmpty: boolean): boolean =>
  typeof s === 'string' && (allowEmpty || s.length > 0) && (s.length <= MAX_NAME_BYTES / 3 || Buffer.byteLength(s) <= MAX_NAME_BYTES);
const isUint = (v: unknown, max: number): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
const isStatus = (v: unknown): v is MemberStatus => isUint(v, MemberStatus.LEFT);
const isRingStatus = (v: unknown): boolean => isUint(v, RingStatus.LEAVING);
const U32 = 0xffff_ffff;

export function isValidMember(m: Member | null | undefined): m is Member {
  return (
    m !== null &&
    m !== undefined &&
    isName(m.id, false) &&
    isName(m.host, false) &&
    isUint(m.port, 65535) &&
    m.port > 0 &&
    isName(m.dc, true) &&
    isName(m.rack, true) &&
    isUint(m.capacity, U32) &&
    isUint(m.incarnation, Number.MAX_SAFE_INTEGER) &&
    isStatus(m.status) &&
    isRingStatus(m.ringStatus) &&
    isUint(m.httpPort, 65535) &&
    isUint(m.protocol, U32) &&
    isUint(m.statusAt, Number.MAX_SAFE_INTEGER)
  );
}

export function isValidUpdate(u: MemberUpdate): boolean {
  if (!isName(u.id, false) || !isUint(u.incarnation, Number.MAX_SAFE_INTEGER) || !isStatus(u.status) || !isName(u.from, true)) {
    return false;
  }
  if (u.member === null || u.member === undefined) return true;
  return isValidMember(u.member) && u.member.id === u.id && u.member.incarnation === u.incarnation && u.member.status === u.status;
}

export function isValidPacket(p: GossipPacket): boolean {
  if (!isName(p.from, false)) return false;
  if (p.viewChecksum.length !== 0 && p.viewChecksum.length !== 8) return false;
  switch (p.body) {
    case 'ping':
      if (!p.ping || !isName(p.ping.target, true)) return false;
      break;
    case 'pingReq': {
      const r = p.pingReq;
      if (!r || !isName(r.target, false) || !isName(r.host, false) || !isUint(r.port, 65535) || r.port === 0) return false;
      break;
    }
    case 'ack':
      if (!p.ack) return false;
      break;
    case 'nack':
      if (!p.nack) return false;
      break;
    default:
      // No body (updates only) or a body from a newer protocol: the updates still count.
      break;
  }
  for (const u of p.updates) if (!isValidUpdate(u)) return false;
  return true;
}

/** Throws BadRequestError (SHOAL_BAD_REQUEST) naming the first problem; nothing is merged then. */
export function checkPushPull(pp: PushPull | null | undefined): void {
  if (pp === null || typeof pp !== 'object' || !Array.isArray(pp.members)) throw new BadRequestError('push-pull: members must be an array');
  if (pp.members.length > MAX_PUSH_PULL_MEMBERS) throw new BadRequestError(`push-pull: more than ${MAX_PUSH_PULL_MEMBERS} members`);
  pp.members.forEach((m, i) => {
    if (!isValidMember(m)) throw new BadRequestError(`push-pull: member ${i} is malformed`);
  });
}
