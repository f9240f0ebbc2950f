// SWIM's precedence of member states, extended with `left`. A member's own
// incarnation orders what is said about it: only the member raises its
// incarnation (to refute a suspicion, or to announce new metadata), and at equal
// incarnations left > dead > suspect > alive. A left entry is final for its
// incarnation: only the member itself, alive again with a higher incarnation,
// replaces it, so stale state cannot resurrect a member that left.
import { MemberStatus } from '../codec/index.js';

export interface StatusAt {
  incarnation: number;
  status: MemberStatus;
}

/**
 * Whether an update (incarnation, status) replaces the current entry. `current`
 * undefined means the member is unknown: only alive and left can introduce it
 * (they carry the full entry); callers holding a full entry may add it anyway.
 */
export function supersedes(current: StatusAt | undefined, incarnation: number, status: MemberStatus): boolean {
  if (current === undefined) return status === MemberStatus.ALIVE || status === MemberStatus.LEFT;
  const cur = current.status;
  switch (status) {
    case MemberStatus.ALIVE:
      return incarnation > current.incarnation;
    case MemberStatus.SUSPECT:
      if (cur === MemberStatus.LEFT) return false;
      return incarnation > current.incarnation || (incarnation === current.incarnation && cur === MemberStatus.ALIVE);
    case MemberStatus.DEAD:
      if (cur === MemberStatus.LEFT) return false;
      return incarnation > current.incarnation || (incarnation === current.incarnation && cur !== MemberStatus.DEAD);
    case MemberStatus.LEFT:
      return incarnation > current.incarnation || (incarnation === current.incarnation && cur !== MemberStatus.LEFT);
    default:
      return false;
  }
}
