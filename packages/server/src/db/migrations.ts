import { type Kysely, type Migration, sql } from 'kysely';
import { generateSecret } from '../platform/ids.js';

// Never edit a migration once merged; add a new one (house style §8.11.10).
export const migrations: Record<string, Migration> = {
  '0001_core': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('apps')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('platforms', 'text', (c) => c.notNull())
        .addColumn('client_key', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('admin_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('crowds')
        .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('members', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('crowds_pk', ['app_id', 'name'])
        .execute();
      await db.schema
        .createTable('packages')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
        .addColumn('module', 'text', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('platform', 'text', (c) => c.notNull())
        .addColumn('format', 'text', (c) => c.notNull())
        .addColumn('blob_sha256', 'text')
        .addColumn('content_hash', 'text', (c) => c.notNull())
        .addColumn('size', 'double precision', (c) => c.notNull())
        .addColumn('file_count', 'integer', (c) => c.notNull())
        .addColumn('link_url', 'text')
        .addColumn('min_app_version', 'text')
        .addColumn('max_app_version', 'text')
        .addColumn('fallback_url', 'text')
        .addColumn('description', 'text')
        .addColumn('disabled', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('packages_version_uq', ['app_id', 'module', 'platform', 'version'])
        .execute();
      await db.schema
        .createTable('releases')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
        .addColumn('module', 'text', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('package_id', 'text', (c) => c.notNull().unique().references('packages.id'))
        .addColumn('platform', 'text', (c) => c.notNull())
        .addColumn('stage', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('percent', 'double precision', (c) => c.notNull())
        .addColumn('whitelist', 'text', (c) => c.notNull())
        .addColumn('crowds', 'text', (c) => c.notNull())
        .addColumn('rule', 'text')
        .addColumn('mandatory', 'integer', (c) => c.notNull())
        .addColumn('gray_id', 'text', (c) => c.notNull())
        .addColumn('stickiness', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('revision', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('releases_app_idx').on('releases').columns(['app_id', 'module']).execute();
      await db.schema
        .createTable('release_events')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('release_id', 'text', (c) => c.notNull().references('releases.id'))
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('release_events_release_idx')
        .on('release_events')
        .column('release_id')
        .execute();
      await db.schema
        .createTable('release_devices')
        .addColumn('release_id', 'text', (c) => c.notNull().references('releases.id'))
        .addColumn('device_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text')
        .addColumn('stage', 'text', (c) => c.notNull())
        .addColumn('from_version', 'text')
        .addColumn('downloaded_at', 'text')
        .addColumn('installed_at', 'text')
        .addColumn('failed_at', 'text')
        .addColumn('fail_reason', 'text')
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('release_devices_pk', ['release_id', 'device_id'])
        .execute();
      await db.schema
        .createTable('release_counters')
        .addColumn('release_id', 'text', (c) => c.notNull().references('releases.id'))
        .addColumn('stage', 'text', (c) => c.notNull())
        .addColumn('checked', 'text', (c) => c.notNull())
        .addColumn('offered', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('release_counters_pk', ['release_id', 'stage'])
        .execute();
    },
  },
  '0002_delta_patches': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('delta_patches')
        .addColumn('from_package_id', 'text', (c) => c.notNull().references('packages.id'))
        .addColumn('to_package_id', 'text', (c) => c.notNull().references('packages.id'))
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('blob_sha256', 'text')
        .addColumn('size', 'double precision')
        .addColumn('full_size', 'double precision', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('error', 'text')
        .addColumn('lease_until', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('delta_patches_pk', ['from_package_id', 'to_package_id'])
        .execute();
      await db.schema.createIndex('delta_patches_app_idx').on('delta_patches').column('app_id').execute();
    },
  },
  '0003_gateway': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('gateway_upstreams')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('urls', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('gateway_policy_groups')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('levels', 'text', (c) => c.notNull())
        .addColumn('revision', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('gateway_hosts')
        .addColumn('host', 'text', (c) => c.primaryKey())
        .addColumn('policy_id', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('gateway_history')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0004_gateway_history': {
    async up(db: Kysely<unknown>): Promise<void> {
      // Who made each gateway change, and the policy revision it produced (null for rows written
      // before this migration and for upstream/host changes). Ids are time-sortable, so the
      // history is paged newest first by id.
      await db.schema.alterTable('gateway_history').addColumn('actor', 'text').execute();
      await db.schema.alterTable('gateway_history').addColumn('revision', 'integer').execute();
      await db.schema.createIndex('gateway_history_key_idx').on('gateway_history').columns(['key', 'kind']).execute();
    },
  },
  '0005_events': {
    // Release health (issue 5): raw client events (kept `events.retentionHours`), per-minute
    // rollups, hourly distinct-device sketches and crash groups (kept indefinitely).
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('events_raw')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('device_id', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('ts', 'bigint', (c) => c.notNull())
        .addColumn('received_at', 'bigint', (c) => c.notNull())
        .addColumn('release_id', 'text', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('events_raw_received_idx').on('events_raw').column('received_at').execute();
      await db.schema
        .createTable('event_rollups')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('module', 'text', (c) => c.notNull())
        .addColumn('module_version', 'text', (c) => c.notNull())
        .addColumn('minute', 'integer', (c) => c.notNull())
        .addColumn('release_id', 'text', (c) => c.notNull())
        .addColumn('stage', 'text', (c) => c.notNull())
        .addColumn('device_model', 'text', (c) => c.notNull())
        .addColumn('sessions_started', 'integer', (c) => c.notNull())
        .addColumn('sessions_exited', 'integer', (c) => c.notNull())
        .addColumn('sessions_crashed', 'integer', (c) => c.notNull())
        .addColumn('sessions_abnormal', 'integer', (c) => c.notNull())
        .addColumn('crashes', 'integer', (c) => c.notNull())
        .addColumn('anrs', 'integer', (c) => c.notNull())
        .addColumn('installs_ok', 'integer', (c) => c.notNull())
        .addColumn('installs_failed', 'integer', (c) => c.notNull())
        .addColumn('downloads_ok', 'integer', (c) => c.notNull())
        .addColumn('downloads_failed', 'integer', (c) => c.notNull())
        .addColumn('page_views', 'integer', (c) => c.notNull())
        .addColumn('custom_events', 'integer', (c) => c.notNull())
        .addColumn('feedbacks', 'integer', (c) => c.notNull())
        .addColumn('dropped', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('event_rollups_pk', [
          'app_id',
          'module',
          'module_version',
          'minute',
          'release_id',
          'stage',
          'device_model',
        ])
        .execute();
      await db.schema
        .createTable('event_device_sketches')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('module', 'text', (c) => c.notNull())
        .addColumn('module_version', 'text', (c) => c.notNull())
        .addColumn('hour', 'integer', (c) => c.notNull())
        .addColumn('release_id', 'text', (c) => c.notNull())
        .addColumn('stage', 'text', (c) => c.notNull())
        .addColumn('registers', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('event_device_sketches_pk', [
          'app_id',
          'module',
          'module_version',
          'hour',
          'release_id',
          'stage',
        ])
        .execute();
      await db.schema
        .createTable('crash_groups')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('exception_type', 'text', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('frames', 'text', (c) => c.notNull())
        .addColumn('first_seen', 'bigint', (c) => c.notNull())
        .addColumn('last_seen', 'bigint', (c) => c.notNull())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('crash_groups_pk', ['app_id', 'fingerprint'])
        .execute();
      await db.schema
        .createTable('crash_group_hours')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('module', 'text', (c) => c.notNull())
        .addColumn('module_version', 'text', (c) => c.notNull())
        .addColumn('hour', 'integer', (c) => c.notNull())
        .addColumn('release_id', 'text', (c) => c.notNull())
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('crash_group_hours_pk', [
          'app_id',
          'module',
          'module_version',
          'hour',
          'release_id',
          'fingerprint',
        ])
        .execute();
    },
  },
  '0006_diagnostics': {
    // Diagnostics (issue 5, item 5): commands a releaser sends to one device or user ("upload the
    // logs of the last N hours"), delivered in the device's next check, answered by an upload.
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('diagnostic_commands')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
        .addColumn('target_type', 'text', (c) => c.notNull())
        .addColumn('target_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('params', 'text', (c) => c.notNull())
        .addColumn('note', 'text')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('delivered_at', 'text')
        .addColumn('delivered_to', 'text')
        .addColumn('uploaded_at', 'text')
        .addColumn('cancelled_at', 'text')
        .addColumn('expired_at', 'text')
        .addColumn('upload_sha256', 'text')
        .addColumn('upload_size', 'double precision')
        .addColumn('upload_content_type', 'text')
        .addColumn('upload_device', 'text')
        .execute();
      // Listing an app's commands (newest first, by id) and loading its open ones for the index.
      await db.schema
        .createIndex('diagnostic_commands_app_idx')
        .on('diagnostic_commands')
        .columns(['app_id', 'state', 'id'])
        .execute();
      await db.schema
        .createIndex('diagnostic_commands_target_idx')
        .on('diagnostic_commands')
        .columns(['app_id', 'target_type', 'target_id'])
        .execute();
      // The expiry sweep.
      await db.schema
        .createIndex('diagnostic_commands_expiry_idx')
        .on('diagnostic_commands')
        .columns(['state', 'expires_at'])
        .execute();
    },
  },
  '0007_codepush': {
    // CodePush compatibility (issue 7): deployments with their keys, labels over Halftone
    // releases, per-label report counters and on-demand diff packages (ADR 0003).
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('codepush_deployments')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('platform', 'text', (c) => c.notNull())
        .addColumn('module', 'text', (c) => c.notNull())
        .addColumn('deployment_key', 'text', (c) => c.notNull().unique())
        .addColumn('bucketing', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('codepush_deployments_name_uq', ['app_id', 'name'])
        .execute();
      await db.schema
        .createTable('codepush_releases')
        .addColumn('deployment_id', 'text', (c) => c.notNull().references('codepush_deployments.id'))
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('release_id', 'text', (c) => c.notNull())
        .addColumn('package_id', 'text', (c) => c.notNull())
        .addColumn('target_range', 'text', (c) => c.notNull())
        .addColumn('disabled', 'integer', (c) => c.notNull())
        .addColumn('released_from', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('codepush_releases_pk', ['deployment_id', 'seq'])
        .execute();
      await db.schema
        .createTable('codepush_metrics')
        .addColumn('deployment_id', 'text', (c) => c.notNull())
        .addColumn('label', 'text', (c) => c.notNull())
        .addColumn('active', 'integer', (c) => c.notNull())
        .addColumn('downloaded', 'integer', (c) => c.notNull())
        .addColumn('installed', 'integer', (c) => c.notNull())
        .addColumn('failed', 'integer', (c) => c.notNull())
        .addColumn('rolled_back', 'integer', (c) => c.notNull())
        .addColumn('ignored', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('codepush_metrics_pk', ['deployment_id', 'label'])
        .execute();
      await db.schema
        .createTable('codepush_diffs')
        .addColumn('to_package_id', 'text', (c) => c.notNull())
        .addColumn('base_hash', 'text', (c) => c.notNull())
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('blob_sha256', 'text')
        .addColumn('size', 'bigint')
        .addColumn('error', 'text')
        .addColumn('lease_until', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('codepush_diffs_pk', ['to_package_id', 'base_hash'])
        .execute();
    },
  },
  '0008_health': {
    // Release health gates (issue 5, items 3, 4 and 6): the health policy of a release and where
    // it stands, every recorded decision (with the gate numbers), circuit-breaker rules and what
    // they fired, feedback keywords per release, and the evaluator's lease (one process at a time).
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('health_policies')
        .addColumn('release_id', 'text', (c) => c.primaryKey())
        .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
        .addColumn('template_name', 'text', (c) => c.notNull())
        .addColumn('template', 'text', (c) => c.notNull())
        .addColumn('on_failure', 'text', (c) => c.notNull())
        .addColumn('stage_index', 'integer', (c) => c.notNull())
        .addColumn('stage_started_at', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('last_verdict', 'text')
        .addColumn('last_evaluated_at', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('health_policies_state_idx').on('health_policies').columns(['state']).execute();
      await db.schema
        .createTable('health_decisions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('release_id', 'text')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('stage_index', 'integer')
        .addColumn('stage', 'text')
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('gates', 'text', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('subject_key', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('health_decisions_release_idx')
        .on('health_decisions')
        .columns(['release_id', 'id'])
        .execute();
      // A feedback item raises at most one alert per release (a resent batch does not repeat it).
      await db.schema
        .createIndex('health_decisions_subject_uq')
        .on('health_decisions')
        .columns(['release_id', 'kind', 'subject_key'])
        .unique()
        .execute();
      await db.schema
        .createTable('health_breakers')
        .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('rule', 'text', (c) => c.notNull())
        .addColumn('window_minutes', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('health_breakers_pk', ['app_id', 'id'])
        .execute();
      await db.schema
        .createTable('health_breaker_fires')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('rule_id', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('fired_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('health_breaker_fires_pk', ['app_id', 'rule_id', 'subject'])
        .execute();
      await db.schema
        .createTable('health_feedback_watch')
        .addColumn('release_id', 'text', (c) => c.primaryKey())
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('keywords', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('health_leases')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('holder', 'text', (c) => c.notNull())
        .addColumn('lease_until', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0009_config': {
    // Dynamic config and switches (issue 6): items per app, environment and namespace (their rules
    // and dependencies as JSON), one revision row per change of an item in an environment, the
    // audit log, each environment's revision (what a promote is guarded by) and the client keys of
    // the environments other than production (production's stays `apps.client_key`). Existing
    // apps get their test key here; apps created later get it on first use.
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('config_items')
        .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
        .addColumn('env', 'text', (c) => c.notNull())
        .addColumn('namespace', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addColumn('default_value', 'text', (c) => c.notNull())
        .addColumn('off_value', 'text')
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('tags', 'text', (c) => c.notNull())
        .addColumn('rules', 'text', (c) => c.notNull())
        .addColumn('depends_on', 'text', (c) => c.notNull())
        .addColumn('module', 'text')
        .addColumn('revision', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('config_items_pk', ['app_id', 'env', 'namespace', 'key'])
        .execute();
      await db.schema
        .createTable('config_revisions')
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('env', 'text', (c) => c.notNull())
        .addColumn('namespace', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('revision', 'integer', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('item', 'text')
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('config_revisions_pk', ['app_id', 'env', 'namespace', 'key', 'revision'])
        .execute();
      await db.schema
        .createTable('config_audit')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('app_id', 'text', (c) => c.notNull())
        .addColumn('env', 'text', (c) => c.notNull())
        .addColumn('namespace', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('before', 'text')
        .addColumn('after', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('config_audit_app_idx').on('config_audit').columns(['app_id', 'id']).execute();
      await db.schema
        .createTable('config_envs')
        .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
        .addColumn('env', 'text', (c) => c.notNull())
        .addColumn('revision', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('config_envs_pk', ['app_id', 'env'])
        .execute();
      await db.schema
        .createTable('app_env_keys')
        .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id'))
        .addColumn('env', 'text', (c) => c.notNull())
        .addColumn('client_key', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('app_env_keys_pk', ['app_id', 'env'])
        .execute();
      const apps = await sql<{ id: string }>`select id from apps`.execute(db);
      const now = new Date().toISOString();
      for (const app of apps.rows) {
        await sql`insert into app_env_keys (app_id, env, client_key, created_at) values (${app.id}, 'test', ${generateSecret('hck_')}, ${now})`.execute(db);
      }
    },
  },
  '0010_gateway_upstream_timeout': {
    async up(db) {
      // Per-upstream inactivity timeout (ms); null = gateway.timeoutMs.
      await db.schema.alterTable('gateway_upstreams').addColumn('timeout_ms', 'integer').execute();
    },
  },
};
