import type { Kysely, Selectable } from 'kysely';
import type { Database, DiagnosticCommandTable } from '../../db/schema.js';
import type { DiagnosticCommand, DiagnosticKind, DiagnosticState, TargetType } from './diagnostic-command.js';
import type { DiagnosticsStore } from './diagnostics-store.js';

const OPEN: DiagnosticState[] = ['pending', 'delivered'];
/** Deliveries per UPDATE statement (ids go into an IN list). */
const CHUNK = 200;

function toCommand(row: Selectable<DiagnosticCommandTable>): DiagnosticCommand {
  return {
    id: row.id,
    appId: row.app_id,
    targetType: row.target_type as TargetType,
    targetId: row.target_id,
    kind: row.kind as DiagnosticKind,
    params: JSON.parse(row.params) as Record<string, unknown>,
    note: row.note,
    state: row.state as DiagnosticState,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    deliveredAt: row.delivered_at,
    deliveredTo: row.delivered_to,
    uploadedAt: row.uploaded_at,
    cancelledAt: row.cancelled_at,
    expiredAt: row.expired_at,
    upload:
      row.upload_sha256 === null
        ? null
        : {
            sha256: row.upload_sha256,
            size: Number(row.upload_size ?? 0),
            contentType: row.upload_content_type ?? 'application/octet-stream',
            deviceId: row.upload_device ?? '',
          },
  };
}

/**
 * The diagnostics store on Kysely, one implementation for SQLite and PostgreSQL. Times are
 * ISO-8601 UTC text of one fixed width, so comparing them as text compares them as times.
 */
export function createSqlDiagnosticsStore(db: Kysely<Database>): DiagnosticsStore {
  return {
    async insert(cmd) {
      await db
        .insertInto('diagnostic_commands')
        .values({
          id: cmd.id,
          app_id: cmd.appId,
          target_type: cmd.targetType,
          target_id: cmd.targetId,
          kind: cmd.kind,
          params: JSON.stringify(cmd.params),
          note: cmd.note,
          state: cmd.state,
          created_at: cmd.createdAt,
          expires_at: cmd.expiresAt,
          delivered_at: cmd.deliveredAt,
          delivered_to: cmd.deliveredTo,
          uploaded_at: cmd.uploadedAt,
          cancelled_at: cmd.cancelledAt,
          expired_at: cmd.expiredAt,
          upload_sha256: cmd.upload?.sha256 ?? null,
          upload_size: cmd.upload?.size ?? null,
          upload_content_type: cmd.upload?.contentType ?? null,
          upload_device: cmd.upload?.deviceId ?? null,
        })
        .execute();
    },

    async get(appId, id) {
      const row = await db
        .selectFrom('diagnostic_commands')
        .selectAll()
        .where('app_id', '=', appId)
        .where('id', '=', id)
        .executeTakeFirst();
      return row ? toCommand(row) : null;
    },

    async list(q) {
      let query = db.selectFrom('diagnostic_commands').selectAll().where('app_id', '=', q.appId);
      if (q.targetType !== undefined) query = query.where('target_type', '=', q.targetType);
      if (q.targetId !== undefined) query = query.where('target_id', '=', q.targetId);
      if (q.before !== undefined) query = query.where('id', '<', q.before);
      const state = q.state;
      if (state === 'pending' || state === 'delivered') {
        query = query.where('state', '=', state).where('expires_at', '>', q.now);
      } else if (state === 'expired') {
        query = query.where((eb) =>
          eb.or([
            eb('state', '=', 'expired'),
            eb.and([eb('state', 'in', OPEN), eb('expires_at', '<=', q.now)]),
          ]),
        );
      } else if (state !== undefined) {
        query = query.where('state', '=', state);
      }
      const rows = await query.orderBy('id', 'desc').limit(q.limit).execute();
      return rows.map(toCommand);
    },

    async listOpen(appId, now) {
      const rows = await db
        .selectFrom('diagnostic_commands')
        .selectAll()
        .where('app_id', '=', appId)
        .where('state', 'in', OPEN)
        .where('expires_at', '>', now)
        .orderBy('id')
        .execute();
      return rows.map(toCommand);
    },

    async markDelivered(deliveries) {
      let moved = 0;
      // One statement per distinct (time, device) would be exact but chatty; deliveries flushed
      // together are seconds apart, so each chunk is written in one transaction, row by row.
      for (let i = 0; i < deliveries.length; i += CHUNK) {
        const chunk = deliveries.slice(i, i + CHUNK);
        moved += await db.transaction().execute(async (trx) => {
          let n = 0;
          for (const d of chunk) {
            const r = await trx
              .updateTable('diagnostic_commands')
              .set({ state: 'delivered', delivered_at: d.at, delivered_to: d.deviceId })
              .where('id', '=', d.id)
              .where('state', '=', 'pending')
              .executeTakeFirst();
            n += Number(r.numUpdatedRows);
          }
          return n;
        });
      }
      return moved;
    },

    async markUploaded(appId, id, upload, at) {
      const r = await db
        .updateTable('diagnostic_commands')
        .set({
          state: 'uploaded',
          uploaded_at: at,
          upload_sha256: upload.sha256,
          upload_size: upload.size,
          upload_content_type: upload.contentType,
          upload_device: upload.deviceId,
        })
        .where('app_id', '=', appId)
        .where('id', '=', id)
        .where('state', 'in', OPEN)
        .where('expires_at', '>', at)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },

    async cancel(appId, id, at) {
      const r = await db
        .updateTable('diagnostic_commands')
        .set({ state: 'cancelled', cancelled_at: at })
        .where('app_id', '=', appId)
        .where('id', '=', id)
        .where('state', 'in', OPEN)
        .where('expires_at', '>', at)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },

    async expire(now) {
      const rows = await db
        .updateTable('diagnostic_commands')
        .set((eb) => ({ state: 'expired', expired_at: eb.ref('expires_at') }))
        .where('state', 'in', OPEN)
        .where('expires_at', '<=', now)
        .returning('app_id')
        .execute();
      return [...new Set(rows.map((r) => r.app_id))];
    },
  };
}
