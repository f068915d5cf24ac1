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
  events_raw: EventRawTable;
  event_rollups: EventRollupTable;
  event_device_sketches: EventDeviceSketchTable;
  crash_groups: CrashGroupTable;
  crash_group_hours: CrashGroupHourTable;
  codepush_deployments: CodePushDeploymentTable;
  codepush_releases: CodePushReleaseTable;
  codepush_metrics: CodePushMetricTable;
  codepush_diffs: CodePushDiffTable;
  diagnostic_commands: DiagnosticCommandTable;
  health_policies: HealthPolicyTable;
  health_decisions: HealthDecisionTable;
  health_breakers: HealthBreakerTable;
  health_breaker_fires: HealthBreakerFireTable;
  health_feedback_watch: HealthFeedbackWatchTable;
  health_leases: HealthLeaseTable;
  config_items: ConfigItemTable;
  config_revisions: ConfigRevisionTable;
  config_audit: ConfigAuditTable;
  config_envs: ConfigEnvTable;
  app_env_keys: AppEnvKeyTable;
}

/**
 * A diagnostic command for one device or user of an app (0006_diagnostics). `state` is the stored
 * state: pending | delivered | uploaded | cancelled | expired — a pending or delivered command past
 * `expires_at` reads as expired before the sweep writes it. Times are ISO-8601 text.
 */
export interface DiagnosticCommandTable {
  id: string;
  app_id: string;
  /** device | user */
  target_type: string;
  target_id: string;
  /** upload_logs | upload_crash_dumps | custom */
  kind: string;
  /** JSON: the command's parameters as the device receives them. */
  params: string;
  note: string | null;
  state: string;
  created_at: string;
  expires_at: string;
  delivered_at: string | null;
  /** The device the command was first returned to. */
  delivered_to: string | null;
  uploaded_at: string | null;
  cancelled_at: string | null;
  expired_at: string | null;
  upload_sha256: string | null;
  upload_size: number | null;
  upload_content_type: string | null;
  /** The device that uploaded. */
  upload_device: string | null;
}

/** One client event as received (kept `events.retentionHours`); the id is the client's UUID. */
export interface EventRawTable {
  id: string;
  app_id: string;
  device_id: string;
  type: string;
  /** Event time, epoch ms, corrected for the device's clock skew. */
  ts: number;
  /** Epoch ms the server received the batch (the purge goes by this). */
  received_at: number;
  /** The release the device's module version came from; '' for none. */
  release_id: string;
  /** JSON: the item as validated, plus the header fields it was attributed with. */
  data: string;
}

/**
 * Additive per-minute counters per (app, module, module version, release, stage cohort, device
 * model). `release_id`, `stage` and `device_model` are '' when there is none (a baseline version
 * no release shipped, an unknown model), so every key column is NOT NULL on both engines.
 */
export interface EventRollupTable {
  app_id: string;
  module: string;
  module_version: string;
  /** Epoch minutes (event time). */
  minute: number;
  release_id: string;
  stage: string;
  device_model: string;
  sessions_started: number;
  sessions_exited: number;
  sessions_crashed: number;
  sessions_abnormal: number;
  crashes: number;
  anrs: number;
  installs_ok: number;
  installs_failed: number;
  downloads_ok: number;
  downloads_failed: number;
  page_views: number;
  custom_events: number;
  feedbacks: number;
  /** Items the devices reported dropping (`client_report` quantities). */
  dropped: number;
}

/** Distinct devices per hour and cohort: HyperLogLog registers (base64), merged by maximum. */
export interface EventDeviceSketchTable {
  app_id: string;
  module: string;
  module_version: string;
  /** Epoch hours (event time). */
  hour: number;
  release_id: string;
  stage: string;
  registers: string;
}

/** A crash group: crashes whose normalised stack hashes to the same fingerprint. */
export interface CrashGroupTable {
  app_id: string;
  fingerprint: string;
  exception_type: string;
  /** The first crash's message (truncated). */
  title: string;
  /** The normalised frames (JSON array) the fingerprint was computed from. */
  frames: string;
  first_seen: number;
  last_seen: number;
  count: number;
}

/** Crash counts per group, hour and release (for "top crash groups of a release in a window"). */
export interface CrashGroupHourTable {
  app_id: string;
  module: string;
  module_version: string;
  hour: number;
  release_id: string;
  fingerprint: string;
  count: number;
}

export interface GatewayUpstreamTable {
  name: string;
  /** JSON array of base URLs. */
  urls: string;
  /** Inactivity timeout of requests to this upstream (ms); null = `gateway.timeoutMs`. */
  timeout_ms: number | null;
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

/** A CodePush deployment (0007_codepush): a deployment key → (app, platform, Halftone module). */
export interface CodePushDeploymentTable {
  id: string;
  app_id: string;
  name: string;
  platform: string;
  /** The Halftone module its releases are published in. */
  module: string;
  deployment_key: string;
  /** `halftone` (MurmurHash3 per release) or `codepush` (the original selector). */
  bucketing: string;
  created_at: string;
}

/** Label `v<seq>` of a deployment: a Halftone release plus what only CodePush has. */
export interface CodePushReleaseTable {
  deployment_id: string;
  seq: number;
  release_id: string;
  package_id: string;
  /** semver range of binary versions. */
  target_range: string;
  disabled: number;
  /** `promote:<deployment>:<label>` or `rollback:<label>`; null for an upload. */
  released_from: string | null;
  created_at: string;
}

/** Per-label report counters; label '' counts reports that were ignored (unknown labels/keys). */
export interface CodePushMetricTable {
  deployment_id: string;
  label: string;
  active: number;
  downloaded: number;
  installed: number;
  failed: number;
  rolled_back: number;
  ignored: number;
}

/** A CodePush diff package (changed files + hotcodepush.json) from a base hash to a package. */
export interface CodePushDiffTable {
  to_package_id: string;
  base_hash: string;
  app_id: string;
  /** pending | running | ready | too_large | failed */
  status: string;
  blob_sha256: string | null;
  size: number | null;
  error: string | null;
  lease_until: string | null;
  created_at: string;
  updated_at: string;
}

/** The health policy of a release and where it stands (0008_health). Times are ISO-8601 text. */
export interface HealthPolicyTable {
  release_id: string;
  app_id: string;
  /** `standard` | `cautious` | `fast` | the inline template's name. */
  template_name: string;
  /** JSON: the template as it was when the release started (built-ins are copied). */
  template: string;
  /** halt | rollback */
  on_failure: string;
  stage_index: number;
  stage_started_at: string;
  /** running | awaiting_confirmation | halted | completed */
  state: string;
  /** JSON: the latest verdict with when and against which baseline; null before the first look. */
  last_verdict: string | null;
  last_evaluated_at: string | null;
  created_at: string;
  updated_at: string;
}

/** A recorded health decision, breaker action or feedback alert (0008_health). */
export interface HealthDecisionTable {
  id: string;
  app_id: string;
  release_id: string | null;
  /** advance | await_confirmation | halt | hold | rollback | confirmed | completed | stopped | breaker | feedback_alert */
  kind: string;
  stage_index: number | null;
  stage: string | null;
  reason: string;
  /** JSON array of gate results (with their numbers). */
  gates: string;
  /** JSON object: anything else (verdict decision, breaker rule and numbers, feedback excerpt). */
  data: string;
  /** What makes a decision unique per release and kind (the feedback event id); null otherwise. */
  subject_key: string | null;
  created_at: string;
}

/** A circuit-breaker rule of an app (0008_health): the core rule as JSON plus its window. */
export interface HealthBreakerTable {
  app_id: string;
  id: string;
  rule: string;
  window_minutes: number;
  created_at: string;
}

/** A breaker action carried out once for a rule and subject (release id, else package id). */
export interface HealthBreakerFireTable {
  app_id: string;
  rule_id: string;
  subject: string;
  fired_at: string;
}

/** Feedback keywords watched for a release (0008_health). */
export interface HealthFeedbackWatchTable {
  release_id: string;
  app_id: string;
  /** JSON array of strings. */
  keywords: string;
  updated_at: string;
}

/** A named lease (the health evaluator's): one holder until `lease_until`. */
export interface HealthLeaseTable {
  name: string;
  holder: string;
  lease_until: string;
}

/**
 * A config item or switch of an app in one environment and namespace (0009_config). Values, rules
 * (`ConfigRule[]` of @halftone/core), `depends_on` and `tags` are JSON text; `enabled` is 0/1;
 * `module` binds a switch to a package module (the check answers `disable` while it is off).
 */
export interface ConfigItemTable {
  app_id: string;
  env: string;
  namespace: string;
  key: string;
  type: string;
  /** config | switch */
  kind: string;
  enabled: number;
  default_value: string;
  off_value: string | null;
  description: string;
  owner: string;
  tags: string;
  rules: string;
  depends_on: string;
  module: string | null;
  /** The item's revision in this environment (1 at creation, +1 per change). */
  revision: number;
  updated_at: string;
  updated_by: string;
}

/** One revision of an item in an environment: the whole item as JSON, or null once deleted. */
export interface ConfigRevisionTable {
  app_id: string;
  env: string;
  namespace: string;
  key: string;
  revision: number;
  /** create | set | rule.add | rule.remove | switch.on | switch.off | delete | restore | promote */
  action: string;
  item: string | null;
  actor: string;
  created_at: string;
}

/** The audit log of config changes: who did what, when, with the item before and after (JSON). */
export interface ConfigAuditTable {
  id: string;
  app_id: string;
  env: string;
  namespace: string;
  key: string;
  action: string;
  actor: string;
  before: string | null;
  after: string | null;
  created_at: string;
}

/** An environment's revision: +1 on every change of any item in it (promote is guarded by it). */
export interface ConfigEnvTable {
  app_id: string;
  env: string;
  revision: number;
  updated_at: string;
}

/** The client key of an app's environment other than production (production's is `apps.client_key`). */
export interface AppEnvKeyTable {
  app_id: string;
  env: string;
  client_key: string;
  created_at: string;
}
