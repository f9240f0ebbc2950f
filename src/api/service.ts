// What the HTTP API serves: the node's coordinator and its status, as a small
// interface so the API depends on nothing above it.

export interface GetResult {
  /** Live siblings; empty when the key is absent. */
  values: Buffer[];
  /** Encoded causal context (may be non-empty even when values is empty). */
  context: Buffer;
}

/** Which replicas r or w counts (?scope=): any, or those in the node's data centre; undefined: the node's default. */
export type Scope = 'global' | 'local' | undefined;

export interface KeyValueService {
  get(key: Buffer, options: { r?: number; scope?: Scope }): Promise<GetResult>;
  /** This node's own replica of the key, without a quorum (diagnostics, repair checks). */
  getLocal(key: Buffer): Promise<GetResult>;
  put(key: Buffer, value: Buffer, options: { context?: Buffer; ttlMs?: number; w?: number; scope?: Scope }): Promise<{ context: Buffer }>;
  delete(key: Buffer, options: { context?: Buffer; w?: number; scope?: Scope }): Promise<void>;
  /** New time to live for the key's live versions; touched false when none is live. */
  touch(key: Buffer, ttlMs: number, options: { r?: number; w?: number; scope?: Scope }): Promise<{ touched: boolean; context: Buffer }>;
  /** JSON-serialisable status (GET /status). */
  status(): unknown;
  /** Prometheus text exposition (GET /metrics). */
  metrics?(): string;
  /** Whether the node serves requests (GET /health). */
  healthy(): boolean;
  /**
   * Checks a request's bearer credential (undefined: none sent) for `scope`: 'kv'
   * is /kv/ reads and writes, 'node' everything else but /health. Absent: the API
   * is open to anyone who reaches it.
   */
  authorize?(credential: string | undefined, scope: 'kv' | 'node'): 'ok' | 'unauthenticated' | 'forbidden';
  /** Largest value accepted, so the API can refuse a body before reading it all. */
  readonly maxValueBytes: number;
  /** Membership changes and diagnostics (POST /admin/join, /admin/leave, /admin/remove; GET /admin/partitions). */
  readonly admin?: AdminService;
}

/** What `shoal admin` asks of a node; each answers with the node's transfer status. */
export interface AdminService {
  /** Join the cluster that `seed` (host:port) belongs to (a node started with --no-join). */
  join(seed: string): Promise<unknown>;
  /** Leave gracefully: this node when `id` is undefined, else the node `id`. */
  leave(id: string | undefined): Promise<unknown>;
  /** Take out a dead node that will never return. */
  remove(id: string): Promise<unknown>;
  /** Per-partition report: held, keys, Merkle root, data present. */
  partitions(): Promise<unknown>;
}
