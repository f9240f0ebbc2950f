// One timer for the deadlines of many requests that share a timeout, instead of a
// timer each: a setTimeout and its clearTimeout made a Timeout object and a
// closure per request, on every put (docs/performance.md, round 12). Time is
// counted in ticks of one timer, re-armed while a deadline is pending; no clock
// is read, so fake timers in tests drive it as they drove the timers it replaces.

/** What a deadline calls when it passes. */
export interface Expiring {
  expire(): void;
}

/** Milliseconds per tick: a deadline passes between timeoutMs and timeoutMs + 2 ticks after it was set. */
const TICK_MS = 10;

export class Deadlines {
  /** Ring of pending entries, by ticket: the tick each is due at, and its owner (undefined: cancelled). */
  private due = new Float64Array(64);
  private items: (Expiring | undefined)[] = new Array<Expiring | undefined>(64).fill(undefined);
  private head = 0;
  private tail = 0;
  private live = 0;
  private tick = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Ticks from a deadline's setting to its passing: at least timeoutMs whatever the tick's phase. */
  private readonly span: number;

  constructor(readonly timeoutMs: number) {
    this.span = Math.ceil(timeoutMs / TICK_MS) + 1;
  }

  /** Pending deadlines. */
  get pending(): number {
    return this.live;
  }

  /** Calls item.expire() once timeoutMs have passed, unless cancel(ticket) comes first. Returns the ticket. */
  add(item: Expiring): number {
    if (this.tail - this.head === this.items.length) this.grow();
    const i = this.tail & (this.items.length - 1);
    this.due[i] = this.tick + this.span;
    this.items[i] = item;
    this.live++;
    if (this.timer === undefined) this.timer = setTimeout(this.onTick, TICK_MS);
    return this.tail++;
  }

  /** Forgets a deadline that has not passed (a no-op once it has, or was cancelled). */
  cancel(ticket: number, item: Expiring): void {
    if (ticket < this.head || ticket >= this.tail) return;
    const i = ticket & (this.items.length - 1);
    if (this.items[i] !== item) return;
    this.items[i] = undefined;
    if (--this.live === 0) this.stop();
  }

  private readonly onTick = (): void => {
    this.timer = undefined;
    const now = ++this.tick;
    // expire() may add deadlines and grow the ring: its mask is read each time.
    while (this.head < this.tail && this.due[this.head & (this.items.length - 1)]! <= now) {
      const i = this.head & (this.items.length - 1);
      const item = this.items[i];
      this.items[i] = undefined;
      this.head++;
      if (item === undefined) continue;
      this.live--;
      item.expire(); // may add deadlines (and arm the timer): they are due later
    }
    if (this.live === 0) this.stop();
    else this.timer ??= setTimeout(this.onTick, TICK_MS);
  };

  /** Nothing pending (every entry left is cancelled, so already cleared): no timer, and the ring starts over. */
  private stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.head = this.tail;
  }

  private grow(): void {
    const n = this.items.length;
    const due = new Float64Array(2 * n);
    const items = new Array<Expiring | undefined>(2 * n).fill(undefined);
    for (let t = this.head; t < this.tail; t++) {
      due[t & (2 * n - 1)] = this.due[t & (n - 1)]!;
      items[t & (2 * n - 1)] = this.items[t & (n - 1)];
    }
    this.due = due;
    this.items = items;
  }
}
