// SWIM's round-robin probe order: each pass visits every probeable member once, in
// a fresh random order, so a failed member is probed by each other member within
// two passes at most, and by someone within about e/(e − 1) periods on average.
import { MemberStatus } from '../codec/index.js';
import type { Member } from '../codec/index.js';
import type { MemberView } from './view.js';

/** Alive and suspect members are probed; dead and left ones are not. */
export function isProbeable(m: Member): boolean {
  return m.status === MemberStatus.ALIVE || m.status === MemberStatus.SUSPECT;
}

export class ProbeOrder {
  private ids: string[] = [];
  private at = 0;

  constructor(
    private readonly selfId: string,
    private readonly random: () => number,
  ) {}

  /** The next member to probe, or undefined when there is none. */
  next(view: MemberView): Member | undefined {
    for (let pass = 0; pass < 2; pass++) {
      while (this.at < this.ids.length) {
        const m = view.get(this.ids[this.at++]!);
        if (m !== undefined && isProbeable(m)) return m;
      }
      this.reshuffle(view);
      if (this.ids.length === 0) return undefined;
    }
    return undefined;
  }

  /** A new member joins the current pass at a random place still ahead. */
  add(id: string): void {
    if (id === this.selfId) return;
    const pos = this.at + Math.floor(this.random() * (this.ids.length - this.at + 1));
    this.ids.splice(pos, 0, id);
  }

  private reshuffle(view: MemberView): void {
    const ids: string[] = [];
    for (const m of view.values()) if (m.id !== this.selfId && isProbeable(m)) ids.push(m.id);
    for (let i = ids.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      const t = ids[i]!;
      ids[i] = ids[j]!;
      ids[j] = t;
    }
    this.ids = ids;
    this.at = 0;
  }
}
