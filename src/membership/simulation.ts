// A whole cluster in one process on virtual time: real Membership objects, an
// in-memory datagram network and push-pull channel, a fault filter per member, and
// a seeded random source, so that protocol tests and the benchmark are fast and
// reproducible. The code path per member is the production one (sealing included).
import type { MemberStatus } from '../codec/index.js';
import type { Member } from '../codec/index.js';
import { FaultFilter, Keyring, MemoryNetwork } from '../transport/index.js';
import type { MemoryTransport } from '../transport/index.js';
import type { MembershipConfig, ProfileName } from './config.js';
import { MemoryIncarnationStore } from './incarnation-store.js';
import { Membership } from './membership.js';
import type { MembershipOptions } from './membership.js';
import { MemoryPushPullNetwork } from './push-pull.js';
import { SimulatedTime } from './timers.js';

/** A small, fast, seedable PRNG (mulberry32): uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SimulatedClusterOptions {
  profile?: ProfileName;
  config?: Partial<MembershipConfig>;
  /** Seed of every random choice (default 1). */
  seed?: number;
  /** One-way latency of datagrams and push-pull legs, ms (default 1). */
  latencyMs?: number;
}

export interface SimulatedMember {
  readonly id: string;
  readonly port: number;
  membership: Membership;
  transport: MemoryTransport;
  readonly filter: FaultFilter;
  readonly incarnations: MemoryIncarnationStore;
  running: boolean;
}

export class SimulatedCluster {
  readonly time = new SimulatedTime();
  readonly network: MemoryNetwork;
  readonly pushPull: MemoryPushPullNetwork;
  readonly keyring = Keyring.random();
  readonly members: SimulatedMember[] = [];
  readonly random: () => number;
  private readonly options: SimulatedClusterOptions;
  private nextId = 0;

  constructor(options: SimulatedClusterOptions = {}) {
    this.options = options;
    this.random = seededRandom(options.seed ?? 1);
    const latencyMs = options.latencyMs ?? 1;
    this.network = new MemoryNetwork({ schedule: this.time.schedule, latencyMs });
    this.pushPull = new MemoryPushPullNetwork({ schedule: this.time.schedule, latencyMs });
  }

  get period(): number {
    return this.members[0]?.membership.config.probeIntervalMs ?? 1000;
  }

  /**
   * Adds and starts a member that joins through `seeds` (default: the first
   * member's address). Resolves after its first join round.
   */
  async add(options: Partial<Omit<MembershipOptions, 'port'>> & { keyring?: Keyring; port?: number } = {}): Promise<SimulatedMember> {
    const id = options.id ?? `m${String(this.nextId++).padStart(3, '0')}`;
    const filter = new FaultFilter(this.random);
    const transport = this.network.transport('127.0.0.1', { filter, port: options.port ?? 0 });
    const keyring = options.keyring ?? this.keyring;
    const first = this.members[0];
    const seeds = options.seeds ?? (first ? [`127.0.0.1:${first.port}`] : []);
    const incarnations = new MemoryIncarnationStore();
    const member: SimulatedMember = {
      id,
      port: transport.port,
      membership: undefined as unknown as Membership,
      transport,
      filter,
      incarnations,
      running: false,
    };
    const { port: _port, keyring: _keyring, ...rest } = options;
    member.membership = this.create(member, keyring, seeds, rest);
    this.members.push(member);
    await this.boot(member, keyring);
    return member;
  }

  /** Adds n members one after another, each joining through a random earlier one. */
  async addMany(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const running = this.members.filter((m) => m.running);
      const seed = running.length ? running[Math.floor(this.random() * running.length)]! : undefined;
      const p = this.add({ seeds: seed ? [`127.0.0.1:${seed.port}`] : [] });
      await this.settle(p);
    }
  }

  /** Stops a member silently, as a crash would: others must detect it. */
  async kill(m: SimulatedMember): Promise<void> {
    m.running = false;
    this.pushPull.unregister('127.0.0.1', m.port);
    await m.membership.stop();
    await m.transport.stop();
  }

  /** Restarts a killed member with the same id, address and incarnation store. */
  async restart(m: SimulatedMember, keyring = this.keyring): Promise<void> {
    const first = this.members.find((x) => x.running && x !== m);
    m.transport = this.network.transport('127.0.0.1', { filter: m.filter, port: m.port });
    m.membership = this.create(m, keyring, first ? [`127.0.0.1:${first.port}`] : [], {});
    await this.boot(m, keyring);
  }

  /** Blocks all traffic (datagrams and push-pull) between the two groups. */
  partition(a: readonly SimulatedMember[], b: readonly SimulatedMember[]): void {
    for (const x of a) for (const y of b) {
      x.filter.block('127.0.0.1', y.port);
      y.filter.block('127.0.0.1', x.port);
    }
  }

  /** Removes every block. */
  heal(): void {
    for (const m of this.members) for (const o of this.members) m.filter.unblock('127.0.0.1', o.port);
  }

  async runFor(ms: number): Promise<void> {
    await this.time.runFor(ms);
  }

  /**
   * Runs until pred() holds or maxMs passes; true if it held. pred is checked every
   * stepMs of virtual time (default a twentieth of a period), not after every event.
   */
  async runUntil(pred: () => boolean, maxMs: number, stepMs = this.period / 20): Promise<boolean> {
    const end = this.time.now() + maxMs;
    for (;;) {
      if (pred()) return true;
      const now = this.time.now();
      if (now >= end) return false;
      await this.time.runUntil(Math.min(end, now + stepMs));
    }
  }

  running(): SimulatedMember[] {
    return this.members.filter((m) => m.running);
  }

  /** All running members hold the same view (equal checksums). */
  converged(): boolean {
    const r = this.running();
    if (r.length === 0) return true;
    const sum = r[0]!.membership.checksum();
    return r.every((m) => m.membership.checksum() === sum);
  }

  /** Every running member sees `id` in `status`. */
  allSee(id: string, status: MemberStatus, among: readonly SimulatedMember[] = this.running()): boolean {
    return among.every((m) => m.id === id || m.membership.member(id)?.status === status);
  }

  statusIn(viewer: SimulatedMember, id: string): Member | undefined {
    return viewer.membership.member(id);
  }

  async stop(): Promise<void> {
    for (const m of this.members) if (m.running) await this.kill(m);
  }

  private create(m: SimulatedMember, keyring: Keyring, seeds: readonly string[], options: Partial<MembershipOptions>): Membership {
    return new Membership({
      ...options,
      id: m.id,
      keyring,
      transport: m.transport,
      pushPull: this.pushPull.channel(keyring, m.filter),
      seeds,
      profile: options.profile ?? this.options.profile ?? 'fast',
      config: { ...this.options.config, ...options.config },
      incarnations: m.incarnations,
      timers: this.time,
      random: this.random,
    });
  }

  private async boot(m: SimulatedMember, keyring: Keyring): Promise<void> {
    await m.transport.start();
    this.pushPull.register('127.0.0.1', m.port, m.membership, keyring);
    m.running = true;
    await this.settle(m.membership.start());
  }

  /** Awaits a promise that needs virtual time to pass (a join round). */
  private async settle<T>(p: Promise<T>): Promise<T> {
    let done = false;
    const q = p.finally(() => {
      done = true;
    });
    while (!done) await this.time.runUntil(this.time.now() + 10, () => done);
    return q;
  }
}
