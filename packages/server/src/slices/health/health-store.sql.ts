import type { Kysely, Selectable } from 'kysely';
import type { Database, HealthDecisionTable, HealthPolicyTable } from '../../db/schema.js';
import type {
  DecisionKind,
  FeedbackWatch,
  HealthDecision,
  HealthPolicy,
  HealthState,
  HealthStore,
  OnFailure,
  StoredBreaker,
} from './health-store.js';

function toPolicy(r: Selectable<HealthPolicyTable>): HealthPolicy {
  return {
    releaseId: r.release_id,
    appId: r.app_id,
    templateName: r.template_name,
    template: JSON.parse(r.template) as HealthPolicy['template'],
    onFailure: r.on_failure as OnFailure,
    stageIndex: Number(r.stage_index),
    stageStartedAt: r.stage_started_at,
    state: r.state as HealthState,
    lastVerdict: r.last_verdict === null ? null : (JSON.parse(r.last_verdict) as HealthPolicy['lastVerdict']),
    lastEvaluatedAt: r.last_evaluated_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function toDecision(r: Selectable<HealthDecisionTable>): HealthDecision {
  return {
    id: r.id,
    appId: r.app_id,
    releaseId: r.release_id,
    kind: r.kind as DecisionKind,
    stageIndex: r.stage_index === null ? null : Number(r.stage_index),
    stage: r.stage,
    reason: r.reason,
    gates: JSON.parse(r.gates) as unknown[],
    data: JSON.parse(r.data) as Record<string, unknown>,
    subjectKey: r.subject_key,
    createdAt: r.created_at,
  };
}

const ACTIVE: readonly HealthState[] = ['running', 'awaiting_confirmation'];

/** The health store on SQLite or PostgreSQL (one dialect-neutral adapter). */
export function createSqlHealthStore(db: Kysely<Database>): HealthStore {
  return {
    async insertPolicy(p) {
      await db
        .insertInto('health_policies')
        .values({
          release_id: p.releaseId,
          app_id: p.appId,
          template_name: p.templateName,
          template: JSON.stringify(p.template),
          on_failure: p.onFailure,
          stage_index: p.stageIndex,
          stage_started_at: p.stageStartedAt,
          state: p.state,
          last_verdict: p.lastVerdict === null ? null : JSON.stringify(p.lastVerdict),
          last_evaluated_at: p.lastEvaluatedAt,
          created_at: p.createdAt,
          updated_at: p.updatedAt,
        })
        .execute();
    },
    async getPolicy(releaseId) {
      const r = await db.selectFrom('health_policies').selectAll().where('release_id', '=', releaseId).executeTakeFirst();
      return r === undefined ? null : toPolicy(r);
    },
    async listHaltedPolicies() {
      const rows = await db
        .selectFrom('health_policies')
        .selectAll()
        .where('state', '=', 'halted')
        .orderBy('created_at')
        .orderBy('release_id')
        .execute();
      return rows.map(toPolicy);
    },
    async listActivePolicies() {
      const rows = await db
        .selectFrom('health_policies')
        .selectAll()
        .where('state', 'in', [...ACTIVE])
        .orderBy('created_at')
        .orderBy('release_id')
        .execute();
      return rows.map(toPolicy);
    },
    async updatePolicy(releaseId, change, updatedAt) {
      const res = await db
        .updateTable('health_policies')
        .set({
          ...(change.stageIndex !== undefined ? { stage_index: change.stageIndex } : {}),
          ...(change.stageStartedAt !== undefined ? { stage_started_at: change.stageStartedAt } : {}),
          ...(change.state !== undefined ? { state: change.state } : {}),
          ...(change.lastVerdict !== undefined
            ? { last_verdict: change.lastVerdict === null ? null : JSON.stringify(change.lastVerdict) }
            : {}),
          ...(change.lastEvaluatedAt !== undefined ? { last_evaluated_at: change.lastEvaluatedAt } : {}),
          updated_at: updatedAt,
        })
        .where('release_id', '=', releaseId)
        .executeTakeFirst();
      return Number(res.numUpdatedRows) === 1;
    },
    async insertDecision(d) {
      const res = await db
        .insertInto('health_decisions')
        .values({
          id: d.id,
          app_id: d.appId,
          release_id: d.releaseId,
          kind: d.kind,
          stage_index: d.stageIndex,
          stage: d.stage,
          reason: d.reason,
          gates: JSON.stringify(d.gates),
          data: JSON.stringify(d.data),
          subject_key: d.subjectKey,
          created_at: d.createdAt,
        })
        .onConflict((oc) => oc.doNothing())
        .executeTakeFirst();
      return Number(res.numInsertedOrUpdatedRows ?? 0) === 1;
    },
    async listDecisions(releaseId, filter) {
      let q = db.selectFrom('health_decisions').selectAll().where('release_id', '=', releaseId);
      if (filter.kinds !== undefined) {
        if (filter.kinds.length === 0) return [];
        q = q.where('kind', 'in', [...filter.kinds]);
      }
      if (filter.excludeKinds !== undefined && filter.excludeKinds.length > 0) {
        q = q.where('kind', 'not in', [...filter.excludeKinds]);
      }
      const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit).execute();
      return rows.map(toDecision);
    },
    async insertBreaker(b) {
      const res = await db
        .insertInto('health_breakers')
        .values({
          app_id: b.appId,
          id: b.rule.id,
          rule: JSON.stringify(b.rule),
          window_minutes: b.windowMinutes,
          created_at: b.createdAt,
        })
        .onConflict((oc) => oc.doNothing())
        .executeTakeFirst();
      return Number(res.numInsertedOrUpdatedRows ?? 0) === 1;
    },
    async listBreakers(appId) {
      let q = db.selectFrom('health_breakers').selectAll();
      if (appId !== undefined) q = q.where('app_id', '=', appId);
      const rows = await q.orderBy('app_id').orderBy('id').execute();
      return rows.map(
        (r): StoredBreaker => ({
          appId: r.app_id,
          rule: JSON.parse(r.rule) as StoredBreaker['rule'],
          windowMinutes: Number(r.window_minutes),
          createdAt: r.created_at,
        }),
      );
    },
    async deleteBreaker(appId, id) {
      return db.transaction().execute(async (tx) => {
        const res = await tx.deleteFrom('health_breakers').where('app_id', '=', appId).where('id', '=', id).executeTakeFirst();
        await tx.deleteFrom('health_breaker_fires').where('app_id', '=', appId).where('rule_id', '=', id).execute();
        return Number(res.numDeletedRows) === 1;
      });
    },
    async recordFire(appId, ruleId, subject, at) {
      const res = await db
        .insertInto('health_breaker_fires')
        .values({ app_id: appId, rule_id: ruleId, subject, fired_at: at })
        .onConflict((oc) => oc.doNothing())
        .executeTakeFirst();
      return Number(res.numInsertedOrUpdatedRows ?? 0) === 1;
    },
    async listFires(appId) {
      const rows = await db
        .selectFrom('health_breaker_fires')
        .selectAll()
        .where('app_id', '=', appId)
        .orderBy('fired_at')
        .orderBy('rule_id')
        .execute();
      return rows.map((r) => ({ ruleId: r.rule_id, subject: r.subject, firedAt: r.fired_at }));
    },
    async setWatch(w) {
      await db
        .insertInto('health_feedback_watch')
        .values({ release_id: w.releaseId, app_id: w.appId, keywords: JSON.stringify(w.keywords), updated_at: w.updatedAt })
        .onConflict((oc) =>
          oc.column('release_id').doUpdateSet({ keywords: JSON.stringify(w.keywords), updated_at: w.updatedAt }),
        )
        .execute();
    },
    async getWatch(releaseId) {
      const r = await db.selectFrom('health_feedback_watch').selectAll().where('release_id', '=', releaseId).executeTakeFirst();
      return r === undefined ? null : toWatch(r);
    },
    async watchesFor(releaseIds) {
      if (releaseIds.length === 0) return [];
      const rows = await db
        .selectFrom('health_feedback_watch')
        .selectAll()
        .where('release_id', 'in', [...releaseIds])
        .orderBy('release_id')
        .execute();
      return rows.map(toWatch);
    },
    async acquireLease(name, holder, now, until) {
      await db
        .insertInto('health_leases')
        .values({ name, holder, lease_until: now })
        .onConflict((oc) => oc.doNothing())
        .execute();
      const res = await db
        .updateTable('health_leases')
        .set({ holder, lease_until: until })
        .where('name', '=', name)
        .where((eb) => eb.or([eb('holder', '=', holder), eb('lease_until', '<=', now)]))
        .executeTakeFirst();
      return Number(res.numUpdatedRows) === 1;
    },
    async releaseLease(name, holder) {
      await db
        .updateTable('health_leases')
        .set({ lease_until: '1970-01-01T00:00:00.000Z' })
        .where('name', '=', name)
        .where('holder', '=', holder)
        .execute();
    },
  };
}

function toWatch(r: { release_id: string; app_id: string; keywords: string; updated_at: string }): FeedbackWatch {
  return {
    releaseId: r.release_id,
    appId: r.app_id,
    keywords: JSON.parse(r.keywords) as string[],
    updatedAt: r.updated_at,
  };
}
