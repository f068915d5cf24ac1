import type { ConfigItemContent, StoredConfigItem } from './config-model.js';

/** One revision of an item in an environment (`item` null: the revision that deleted it). */
export interface ConfigRevision {
  readonly appId: string;
  readonly env: string;
  readonly namespace: string;
  readonly key: string;
  readonly revision: number;
  readonly action: string;
  readonly item: ConfigItemContent | null;
  readonly actor: string;
  readonly createdAt: string;
}

/** One entry of the audit log. */
export interface ConfigAuditEntry {
  readonly id: string;
  readonly appId: string;
  readonly env: string;
  readonly namespace: string;
  readonly key: string;
  readonly action: string;
  readonly actor: string;
  readonly before: ConfigItemContent | null;
  readonly after: ConfigItemContent | null;
  readonly createdAt: string;
}

/** One item write of a {@link ConfigBatch}: the new item (or a deletion), its revision and audit entry. */
export interface ConfigWrite {
  readonly env: string;
  readonly namespace: string;
  readonly key: string;
  /** The item after the change; null deletes it. */
  readonly item: StoredConfigItem | null;
  readonly revision: ConfigRevision;
  readonly audit: ConfigAuditEntry;
}

/**
 * Changes applied atomically: every write, then each written environment's revision +1 — but only
 * if every guarded environment still has the revision it had when the change was computed.
 */
export interface ConfigBatch {
  readonly appId: string;
  /** env → the revision it must still have. */
  readonly guards: Readonly<Record<string, number>>;
  readonly writes: readonly ConfigWrite[];
  readonly at: string;
}

/** Persistence of config items, their revisions, the audit log and environment client keys. */
export interface ConfigStore {
  listItems(appId: string, env: string): Promise<StoredConfigItem[]>;
  getItem(appId: string, env: string, namespace: string, key: string): Promise<StoredConfigItem | null>;
  /** The environment's revision (0 before its first change). */
  envRevision(appId: string, env: string): Promise<number>;
  /**
   * Applies a batch in one transaction. Returns the environments' new revisions, or `null`
   * (nothing changed) when a guard no longer holds.
   */
  commit(batch: ConfigBatch): Promise<Record<string, number> | null>;
  /** An item's revisions in an environment, newest first. */
  listRevisions(appId: string, env: string, namespace: string, key: string): Promise<ConfigRevision[]>;
  getRevision(appId: string, env: string, namespace: string, key: string, revision: number): Promise<ConfigRevision | null>;
  /** The highest revision an item ever had in an environment (deleted ones too), 0 if none. */
  lastRevision(appId: string, env: string, namespace: string, key: string): Promise<number>;
  /** Audit entries of an app, newest first. */
  listAudit(appId: string, filter: { env?: string; namespace?: string; key?: string; limit: number }): Promise<ConfigAuditEntry[]>;
  /** Client keys of non-production environments: every app's (for the key index at start). */
  listEnvKeys(): Promise<{ appId: string; env: string; clientKey: string }[]>;
  /** The app's environment key, created with `candidate` when there is none yet. */
  ensureEnvKey(appId: string, env: string, candidate: string, at: string): Promise<string>;
}
