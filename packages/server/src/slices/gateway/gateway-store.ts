import type { Policy } from '@halftone/core';

/** A named set of base URLs the gateway forwards to (round-robin). */
export interface GatewayUpstream {
  readonly name: string;
  readonly urls: readonly string[];
  /** Inactivity timeout of requests to this upstream (ms); null = `gateway.timeoutMs`. */
  readonly timeoutMs: number | null;
  readonly updatedAt: string;
}

/** A stored policy group: ordered levels in the core engine's format. */
export interface GatewayPolicyGroup {
  readonly id: string;
  readonly levels: readonly Policy[];
  readonly revision: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** Which policy group decides the requests of a Host. */
export interface GatewayHostBinding {
  readonly host: string;
  readonly policyId: string;
  readonly updatedAt: string;
}

/** A change to append to the change log. */
export interface GatewayHistoryEntry {
  /** `upstream.put|delete`, `policy.create|update|delete`, `host.put|delete`. */
  readonly kind: string;
  /** The upstream name, policy-group id or host the change is about. */
  readonly key: string;
  readonly data: unknown;
  readonly createdAt: string;
  /** Who made it: `admin-api`, `ab_admin`, `v1.0`, `system`, … (null on rows before 0004). */
  readonly actor?: string | null;
  /** The policy revision a `policy.*` change produced. */
  readonly revision?: number | null;
}

/** One row of the change log, as read back. */
export interface GatewayHistoryRecord {
  /** Time-sortable id (`gwh_…`): later changes have greater ids. */
  readonly id: string;
  readonly kind: string;
  readonly key: string;
  readonly data: unknown;
  readonly createdAt: string;
  readonly actor: string | null;
  readonly revision: number | null;
}

/** Which part of the change log to read, newest first. */
export interface GatewayHistoryQuery {
  /** At most this many rows. */
  readonly limit: number;
  /** Only rows whose id sorts before this one (the cursor of the previous page). */
  readonly before?: string | undefined;
  /** Only rows about this key (with `kindPrefix`, e.g. one policy group). */
  readonly key?: string | undefined;
  /** Only rows whose kind starts with this, e.g. `policy.`. */
  readonly kindPrefix?: string | undefined;
}

/** Persistence port of the gateway slice. */
export interface GatewayStore {
  listUpstreams(): Promise<GatewayUpstream[]>;
  getUpstream(name: string): Promise<GatewayUpstream | undefined>;
  putUpstream(upstream: GatewayUpstream): Promise<void>;
  deleteUpstream(name: string): Promise<boolean>;

  listPolicies(): Promise<GatewayPolicyGroup[]>;
  getPolicy(id: string): Promise<GatewayPolicyGroup | undefined>;
  /** Inserts the group and its `policy.create` history row in one transaction. */
  insertPolicy(group: GatewayPolicyGroup, history: GatewayHistoryEntry): Promise<void>;
  /**
   * Replaces the group if its stored revision is still `fromRevision`, with its history row, in
   * one transaction; false (and nothing written) when the group is gone or was changed meanwhile.
   */
  updatePolicy(group: GatewayPolicyGroup, fromRevision: number, history: GatewayHistoryEntry): Promise<boolean>;
  /**
   * Deletes the group; with `history`, also appends that row in the same transaction, completed
   * with the deleted levels (`data.levels`) and the next revision. False when it did not exist.
   */
  deletePolicy(id: string, history?: Omit<GatewayHistoryEntry, 'data' | 'revision'>): Promise<boolean>;

  listHosts(): Promise<GatewayHostBinding[]>;
  getHost(host: string): Promise<GatewayHostBinding | undefined>;
  putHost(binding: GatewayHostBinding): Promise<void>;
  deleteHost(host: string): Promise<boolean>;

  appendHistory(entry: GatewayHistoryEntry): Promise<void>;
  /** Rows of the change log, newest first (see {@link GatewayHistoryQuery}). */
  listHistory(query: GatewayHistoryQuery): Promise<GatewayHistoryRecord[]>;
  /** The keys of every history entry of `kind` whose key starts with `prefix` (ever, deleted ones included). */
  historyKeys(kind: string, prefix: string): Promise<string[]>;
}
