import { type Kysely, type Transaction, sql } from 'kysely';
import type { Database } from '../../db/schema.js';
import type { SqlDialect } from '../../platform/sql/sql-database.js';
import { HyperLogLog } from '../releases/hyperloglog.js';
import {
  COUNTER_NAMES,
  type CohortQuery,
  type CrashGroupStat,
  type EventsStore,
  type IngestBatch,
  type IngestOutcome,
  type RollupCounters,
  type RollupGroup,
  zeroCounters,
} from './events-store.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
/** Rows per multi-row statement (stays far below SQLite's and PostgreSQL's parameter limits). */
const CHUNK = 500;
/** Device hashes remembered as already counted in a sketch before the memory is cleared. */
const SEEN_CAP = 500_000;

const COLUMN: Record<keyof RollupCounters, keyof Database['event_rollups'] & string> = {
  sessionsStarted: 'sessions_started',
  sessionsExited: 'sessions_exited',
  sessionsCrashed: 'sessions_crashed',
  sessionsAbnormal: 'sessions_abnormal',
  crashes: 'crashes',
  anrs: 'anrs',
  installsOk: 'installs_ok',
  installsFailed: 'installs_failed',
  downloadsOk: 'downloads_ok',
  downloadsFailed: 'downloads_failed',
  pageViews: 'page_views',
  customEvents: 'custom_events',
  feedbacks: 'feedbacks',
  dropped: 'dropped',
};

type RollupRow = Database['event_rollups'];
type SketchKey = { module: string; module_version: string; hour: number; release_id: string; stage: string };

function chunks<T>(xs: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

/** The upsert's `SET col = table.col + excluded.col` for every counter. */
function addCounters(): Record<string, unknown> {
  const set: Record<string, unknown> = {};
  for (const name of COUNTER_NAMES) {
    const col = COLUMN[name];
    set[col] = sql`event_rollups.${sql.ref(col)} + excluded.${sql.ref(col)}`;
  }
  return set;
}

/**
 * The events store on Kysely, one implementation for SQLite and PostgreSQL. A batch is one
 * transaction of a handful of statements whatever its size: one multi-row raw insert (`ON
 * CONFLICT (id) DO NOTHING RETURNING id` tells the new ids from resent ones), one multi-row
 * rollup upsert aggregated in memory first (keys sorted, so concurrent PostgreSQL transactions
 * lock rows in one order), then sketches and crash groups only when the batch has any.
 *
 * Sketches are read-modify-write: PostgreSQL locks the row (`FOR UPDATE`); SQLite has one
 * writer. A device already counted in a sketch (remembered after commit, registers only grow)
 * skips the sketch entirely, so a device's second batch in an hour costs no sketch I/O.
 */
export function createSqlEventsStore(db: Kysely<Database>, dialect: SqlDialect): EventsStore {
  const seen = new Map<string, Set<number>>();
  let seenCount = 0;
  const sketchId = (appId: string, k: SketchKey) =>
    `${appId}\u0000${k.module}\u0000${k.module_version}\u0000${k.hour}\u0000${k.release_id}\u0000${k.stage}`;

  const selectSketch = (trx: Transaction<Database>, appId: string, k: SketchKey) => {
    const q = trx
      .selectFrom('event_device_sketches')
      .select('registers')
      .where('app_id', '=', appId)
      .where('module', '=', k.module)
      .where('module_version', '=', k.module_version)
      .where('hour', '=', k.hour)
      .where('release_id', '=', k.release_id)
      .where('stage', '=', k.stage);
    return (dialect === 'postgres' ? q.forUpdate() : q).executeTakeFirst();
  };

  async function updateSketch(trx: Transaction<Database>, appId: string, k: SketchKey, hash: number): Promise<void> {
    let row = await selectSketch(trx, appId, k);
    if (row === undefined) {
      const fresh = new HyperLogLog();
      fresh.addHash(hash);
      const res = await trx
        .insertInto('event_device_sketches')
        .values({ app_id: appId, ...k, registers: fresh.toBase64() })
        .onConflict((oc) => oc.columns(['app_id', 'module', 'module_version', 'hour', 'release_id', 'stage']).doNothing())
        .executeTakeFirst();
      if (Number(res.numInsertedOrUpdatedRows ?? 0n) === 1) return;
      // Another transaction created it meanwhile (PostgreSQL): merge into theirs.
      row = await selectSketch(trx, appId, k);
      if (row === undefined) return;
    }
    const hll = HyperLogLog.fromBase64(row.registers);
    if (!hll.addHash(hash)) return;
    await trx
      .updateTable('event_device_sketches')
      .set({ registers: hll.toBase64() })
      .where('app_id', '=', appId)
      .where('module', '=', k.module)
      .where('module_version', '=', k.module_version)
      .where('hour', '=', k.hour)
      .where('release_id', '=', k.release_id)
      .where('stage', '=', k.stage)
      .execute();
  }

  return {
    async ingest(batch: IngestBatch): Promise<IngestOutcome> {
      if (batch.events.length === 0) return { inserted: 0, duplicates: 0 };
      const { appId } = batch;
      const deviceHash = HyperLogLog.hash(batch.deviceId);
      const touchedSketches: string[] = [];

      const inserted = await db.transaction().execute(async (trx) => {
        const newIds = new Set<string>();
        for (const part of chunks(batch.events, 1000)) {
          const rows = await trx
            .insertInto('events_raw')
            .values(
              part.map((e) => ({
                id: e.id,
                app_id: appId,
                device_id: batch.deviceId,
                type: e.type,
                ts: e.ts,
                received_at: batch.receivedAt,
                release_id: e.releaseId,
                data: e.data,
              })),
            )
            .onConflict((oc) => oc.column('id').doNothing())
            .returning('id')
            .execute();
          for (const r of rows) newIds.add(r.id);
        }
        if (newIds.size === 0) return 0;

        // Aggregate in memory: one row per (cohort, minute, device model), one sketch per
        // (cohort, hour), one crash-group row per fingerprint and per (cohort, hour, fingerprint).
        const rollups = new Map<string, RollupRow>();
        const sketches = new Map<string, SketchKey>();
        const groups = new Map<string, Database['crash_groups']>();
        const groupHours = new Map<string, Database['crash_group_hours']>();
        for (const e of batch.events) {
          if (!newIds.has(e.id)) continue;
          const minute = Math.floor(e.ts / MINUTE);
          const hour = Math.floor(e.ts / HOUR);
          for (const c of e.cohorts) {
            const rk = `${c.module}\u0000${c.moduleVersion}\u0000${minute}\u0000${c.releaseId}\u0000${c.stage}`;
            let row = rollups.get(rk);
            if (row === undefined) {
              const zero = zeroCounters();
              row = {
                app_id: appId,
                module: c.module,
                module_version: c.moduleVersion,
                minute,
                release_id: c.releaseId,
                stage: c.stage,
                device_model: batch.deviceModel,
              } as RollupRow;
              for (const name of COUNTER_NAMES) (row as unknown as Record<string, number>)[COLUMN[name]] = zero[name];
              rollups.set(rk, row);
            }
            for (const name of COUNTER_NAMES) {
              const add = e.counters[name];
              if (add !== undefined) {
                const r = row as unknown as Record<string, number>;
                r[COLUMN[name]] = (r[COLUMN[name]] ?? 0) + add;
              }
            }
            const sk: SketchKey = {
              module: c.module,
              module_version: c.moduleVersion,
              hour,
              release_id: c.releaseId,
              stage: c.stage,
            };
            const sid = sketchId(appId, sk);
            if (!sketches.has(sid) && seen.get(sid)?.has(deviceHash) !== true) sketches.set(sid, sk);
            if (e.crash !== undefined) {
              const gk = `${c.module}\u0000${c.moduleVersion}\u0000${hour}\u0000${c.releaseId}\u0000${e.crash.fingerprint}`;
              const gh = groupHours.get(gk);
              if (gh === undefined) {
                groupHours.set(gk, {
                  app_id: appId,
                  module: c.module,
                  module_version: c.moduleVersion,
                  hour,
                  release_id: c.releaseId,
                  fingerprint: e.crash.fingerprint,
                  count: 1,
                });
              } else gh.count += 1;
            }
          }
          if (e.crash !== undefined) {
            const g = groups.get(e.crash.fingerprint);
            if (g === undefined) {
              groups.set(e.crash.fingerprint, {
                app_id: appId,
                fingerprint: e.crash.fingerprint,
                exception_type: e.crash.exceptionType,
                title: e.crash.title,
                frames: JSON.stringify(e.crash.frames),
                first_seen: e.ts,
                last_seen: e.ts,
                count: 1,
              });
            } else {
              g.count += 1;
              if (e.ts < g.first_seen) g.first_seen = e.ts;
              if (e.ts > g.last_seen) g.last_seen = e.ts;
            }
          }
        }

        const rollupRows = [...rollups.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, r]) => r);
        for (const part of chunks(rollupRows)) {
          await trx
            .insertInto('event_rollups')
            .values(part)
            .onConflict((oc) =>
              oc
                .columns(['app_id', 'module', 'module_version', 'minute', 'release_id', 'stage', 'device_model'])
                .doUpdateSet(addCounters() as never),
            )
            .execute();
        }
        for (const sid of [...sketches.keys()].sort()) {
          const sk = sketches.get(sid);
          if (sk === undefined) continue;
          await updateSketch(trx, appId, sk, deviceHash);
          touchedSketches.push(sid);
        }
        if (groups.size > 0) {
          const rows = [...groups.values()].sort((a, b) => (a.fingerprint < b.fingerprint ? -1 : 1));
          await trx
            .insertInto('crash_groups')
            .values(rows)
            .onConflict((oc) =>
              oc.columns(['app_id', 'fingerprint']).doUpdateSet({
                count: sql`crash_groups.count + excluded.count`,
                first_seen: sql`case when excluded.first_seen < crash_groups.first_seen then excluded.first_seen else crash_groups.first_seen end`,
                last_seen: sql`case when excluded.last_seen > crash_groups.last_seen then excluded.last_seen else crash_groups.last_seen end`,
              }),
            )
            .execute();
          const hourRows = [...groupHours.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([, r]) => r);
          for (const part of chunks(hourRows)) {
            await trx
              .insertInto('crash_group_hours')
              .values(part)
              .onConflict((oc) =>
                oc
                  .columns(['app_id', 'module', 'module_version', 'hour', 'release_id', 'fingerprint'])
                  .doUpdateSet({ count: sql`crash_group_hours.count + excluded.count` }),
              )
              .execute();
          }
        }
        return newIds.size;
      });

      // Committed: remember the devices counted, so their next batches skip the sketches.
      for (const sid of touchedSketches) {
        let set = seen.get(sid);
        if (set === undefined) {
          if (seenCount >= SEEN_CAP) {
            seen.clear();
            seenCount = 0;
          }
          set = new Set();
          seen.set(sid, set);
        }
        if (!set.has(deviceHash)) {
          set.add(deviceHash);
          seenCount++;
        }
      }
      return { inserted, duplicates: batch.events.length - inserted };
    },

    async purgeRaw(before: number): Promise<number> {
      let total = 0;
      // In slices, so a large purge never holds the (single SQLite) writer for long.
      for (;;) {
        const res = await db
          .deleteFrom('events_raw')
          .where('id', 'in', (qb) =>
            qb.selectFrom('events_raw').select('id').where('received_at', '<', before).limit(5000),
          )
          .executeTakeFirst();
        const n = Number(res.numDeletedRows);
        total += n;
        if (n < 5000) return total;
      }
    },

    async rollups(q: CohortQuery): Promise<RollupGroup[]> {
      let qb = db
        .selectFrom('event_rollups')
        .select(['stage', 'device_model'])
        .select((eb) => COUNTER_NAMES.map((name) => eb.fn.sum<number>(COLUMN[name]).as(COLUMN[name])))
        .where('app_id', '=', q.appId)
        .where('module', '=', q.module)
        .where('minute', '>=', Math.floor(q.from / MINUTE))
        .where('minute', '<', Math.ceil(q.to / MINUTE));
      if (q.moduleVersion !== undefined) qb = qb.where('module_version', '=', q.moduleVersion);
      if (q.releaseId !== undefined && q.releaseId !== null) qb = qb.where('release_id', '=', q.releaseId);
      const rows = await qb.groupBy(['stage', 'device_model']).execute();
      return rows.map((r) => {
        const out = { stage: r.stage, deviceModel: r.device_model, ...zeroCounters() };
        const rec = r as unknown as Record<string, unknown>;
        for (const name of COUNTER_NAMES) out[name] = Number(rec[COLUMN[name]] ?? 0);
        return out;
      });
    },

    async distinctDevices(q: CohortQuery): Promise<number> {
      let qb = db
        .selectFrom('event_device_sketches')
        .select('registers')
        .where('app_id', '=', q.appId)
        .where('module', '=', q.module)
        .where('hour', '>=', Math.floor(q.from / HOUR))
        .where('hour', '<', Math.ceil(q.to / HOUR));
      if (q.moduleVersion !== undefined) qb = qb.where('module_version', '=', q.moduleVersion);
      if (q.releaseId !== undefined && q.releaseId !== null) qb = qb.where('release_id', '=', q.releaseId);
      const rows = await qb.execute();
      if (rows.length === 0) return 0;
      const merged = new HyperLogLog();
      for (const r of rows) merged.merge(HyperLogLog.fromBase64(r.registers));
      return merged.count();
    },

    async topCrashGroups(q: CohortQuery, limit: number): Promise<CrashGroupStat[]> {
      let qb = db
        .selectFrom('crash_group_hours as h')
        .innerJoin('crash_groups as g', (j) => j.onRef('g.app_id', '=', 'h.app_id').onRef('g.fingerprint', '=', 'h.fingerprint'))
        .select(['h.fingerprint', 'g.exception_type', 'g.title', 'g.first_seen', 'g.last_seen'])
        .select((eb) => eb.fn.sum<number>('h.count').as('n'))
        .where('h.app_id', '=', q.appId)
        .where('h.module', '=', q.module)
        .where('h.hour', '>=', Math.floor(q.from / HOUR))
        .where('h.hour', '<', Math.ceil(q.to / HOUR));
      if (q.moduleVersion !== undefined) qb = qb.where('h.module_version', '=', q.moduleVersion);
      if (q.releaseId !== undefined && q.releaseId !== null) qb = qb.where('h.release_id', '=', q.releaseId);
      const rows = await qb
        .groupBy(['h.fingerprint', 'g.exception_type', 'g.title', 'g.first_seen', 'g.last_seen'])
        .orderBy('n', 'desc')
        .orderBy('h.fingerprint')
        .limit(limit)
        .execute();
      return rows.map((r) => ({
        fingerprint: r.fingerprint,
        exceptionType: r.exception_type,
        title: r.title,
        count: Number(r.n),
        firstSeen: Number(r.first_seen),
        lastSeen: Number(r.last_seen),
      }));
    },

    async countRaw(appId: string): Promise<number> {
      const row = await db
        .selectFrom('events_raw')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('app_id', '=', appId)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}
