import type { Policy } from '@halftone/core';

/** A named set of base URLs the gateway forwards to (round-robin). */
export interface GatewayUpstream {
  readonly name: string;
  readonly urls: readonly string[];
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

/** One row of the change log. */
export interface GatewayHistoryEntry {
  readonly kind: string;
  readonly key: string;
  readonly data: unknown;
  readonly createdAt: string;
}

/** Persistence port of the gateway slice. */
export interface GatewayStore {
  listUpstreams(): Promise<GatewayUpstream[]>;
  getUpstream(name: string): Promise<GatewayUpstream | undefined>;
  putUpstream(upstream: GatewayUpstream): Promise<void>;
  deleteUpstream(name: string): Promise<boolean>;

  listPolicies(): Promise<GatewayPolicyGroup[]>;
  getPolicy(id: string): Promise<GatewayPolicyGroup | undefined>;
  insertPolicy(group: GatewayPolicyGroup): Promise<void>;
  deletePolicy(id: string): Promise<boolean>;

  listHosts(): Promise<GatewayHostBinding[]>;
  getHost(host: string): Promise<GatewayHostBinding | undefined>;
  putHost(binding: GatewayHostBinding): Promise<void>;
  deleteHost(host: string): Promise<boolean>;

  appendHistory(entry: GatewayHistoryEntry): Promise<void>;
  /** The keys of every history entry of `kind` whose key starts with `prefix` (ever, deleted ones included). */
  historyKeys(kind: string, prefix: string): Promise<string[]>;
}
