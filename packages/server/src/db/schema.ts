/**
 * The metadata tables, written once for SQLite and PostgreSQL. Portable types only: text,
 * integer, double precision. Timestamps are ISO-8601 text (UTC), booleans 0/1 integers,
 * lists and rules JSON text — the same bytes on both engines.
 */
export interface Database {
  apps: AppTable;
  admin_tokens: AdminTokenTable;
  crowds: CrowdTable;
  packages: PackageTable;
  releases: ReleaseTable;
  release_events: ReleaseEventTable;
  release_devices: ReleaseDeviceTable;
  release_counters: ReleaseCounterTable;
  delta_patches: DeltaPatchTable;
  gateway_upstreams: GatewayUpstreamTable;
  gateway_policy_groups: GatewayPolicyGroupTable;
  gateway_hosts: GatewayHostTable;
  gateway_history: GatewayHistoryTable;
}

export interface GatewayUpstreamTable {
  name: string;
  /** JSON array of base URLs. */
  urls: string;
  updated_at: string;
}

export interface GatewayPolicyGroupTable {
  id: string;
  /** JSON array of policies (the core engine's format). */
  levels: string;
  revision: number;
  created_at: string;
  updated_at: string;
}

export interface GatewayHostTable {
  host: string;
  policy_id: string;
  updated_at: string;
}

/** Append-only log of gateway changes (kind: upstream.put, policy.create, host.put, …). */
export interface GatewayHistoryTable {
  id: string;
  kind: string;
  key: string;
  data: string;
  created_at: string;
  /** Who made the change: `admin-api`, `ab_admin`, `v1.0`, … (0004; null on older rows). */
  actor: string | null;
  /** The policy revision a policy.* change produced (0004; null otherwise and on older rows). */
  revision: number | null;
}

export interface AppTable {
  id: string;
  name: string;
  platforms: string;
  client_key: string;
  created_at: string;
}

export interface AdminTokenTable {
  id: string;
  name: string;
  token_hash: string;
  created_at: string;
}

export interface CrowdTable {
  app_id: string;
  name: string;
  members: string;
  updated_at: string;
}

export interface PackageTable {
  id: string;
  app_id: string;
  module: string;
  version: string;
  kind: string;
  /** '' = every platform of the app. */
  platform: string;
  format: string;
  blob_sha256: string | null;
  content_hash: string;
  size: number;
  file_count: number;
  link_url: string | null;
  min_app_version: string | null;
  max_app_version: string | null;
  fallback_url: string | null;
  description: string | null;
  disabled: number;
  created_at: string;
  updated_at: string;
}

export interface ReleaseTable {
  id: string;
  app_id: string;
  module: string;
  version: string;
  package_id: string;
  platform: string;
  stage: string;
  status: string;
  percent: number;
  whitelist: string;
  crowds: string;
  rule: string | null;
  mandatory: number;
  gray_id: string;
  stickiness: string;
  description: string | null;
  revision: number;
  created_at: string;
  updated_at: string;
}

export interface ReleaseEventTable {
  id: string;
  release_id: string;
  type: string;
  data: string;
  created_at: string;
}

export interface ReleaseDeviceTable {
  release_id: string;
  device_id: string;
  user_id: string | null;
  stage: string;
  from_version: string | null;
  downloaded_at: string | null;
  installed_at: string | null;
  failed_at: string | null;
  fail_reason: string | null;
  updated_at: string;
}

export interface ReleaseCounterTable {
  release_id: string;
  stage: string;
  /** HyperLogLog registers (base64) of distinct devices that checked while this release was current. */
  checked: string;
  /** HyperLogLog registers (base64) of distinct devices offered the release. */
  offered: string;
  updated_at: string;
}

export interface DeltaPatchTable {
  from_package_id: string;
  to_package_id: string;
  app_id: string;
  /** pending | running | ready | too_large | failed */
  status: string;
  blob_sha256: string | null;
  size: number | null;
  /** Bytes of the full download of the target, for the 50% rule and reporting. */
  full_size: number;
  attempts: number;
  error: string | null;
  /** While running: until when the job is taken (then another process may retry it). */
  lease_until: string | null;
  created_at: string;
  updated_at: string;
}
