import type { CohortMetrics, DeviceModelMetrics, ReleaseStage, StageDefinition, Verdict } from '@halftone/core';
import type { CohortHealth } from '../events/index.js';
import type { HealthState, StoredVerdict } from './health-store.js';

/**
 * The release stage and percentage a template stage maps onto: `whitelist` and `internal` are the
 * release stages of the same name; a `percentage` stage is the release's `percentage` stage at
 * that percent (`gray` at that percent when the release has a targeting rule: the percentage of
 * the matching devices); `full` is `full` at 100 %.
 *
 * @example
 * releaseTargetFor({ kind: 'percentage', percent: 5 }, { rule: null }); // { stage: 'percentage', percent: 5 }
 */
export function releaseTargetFor(
  stage: Pick<StageDefinition, 'kind' | 'percent'>,
  release: { readonly rule: unknown },
): { stage: ReleaseStage; percent: number } {
  switch (stage.kind) {
    case 'whitelist':
      return { stage: 'whitelist', percent: 0 };
    case 'internal':
      return { stage: 'internal', percent: 0 };
    case 'percentage':
      return { stage: release.rule !== null && release.rule !== undefined ? 'gray' : 'percentage', percent: stage.percent ?? 1 };
    case 'full':
      return { stage: 'full', percent: 100 };
  }
}

const clampTo = (v: number, max: number): number => Math.max(0, Math.min(Math.trunc(v), max));

/**
 * The counts the judgement needs, from an events health answer: sessions started, crashed
 * sessions, ANR events (an upper bound of ANR sessions, as core allows) and distinct devices.
 * Crashes and ANRs are capped at the sessions (a session that began before the window can end
 * inside it), which only ever errs towards hold and halt.
 */
export function toCohortMetrics(h: CohortHealth): CohortMetrics {
  const byDeviceModel: Record<string, DeviceModelMetrics> = {};
  for (const m of h.byDeviceModel) {
    if (m.deviceModel === '') continue;
    byDeviceModel[m.deviceModel] = {
      sessions: m.sessions,
      crashed: clampTo(m.sessionsCrashed, m.sessions),
      anr: clampTo(m.anrs, m.sessions),
    };
  }
  return {
    sessions: h.sessions,
    crashed: clampTo(h.sessionsCrashed, h.sessions),
    anr: clampTo(h.anrs, h.sessions),
    devices: h.distinctDevices,
    byDeviceModel,
  };
}

/**
 * Whether a look is worth a decision row: always when the state changes; otherwise only when the
 * verdict's decision differs from the last one (so a release holding for hours writes one row,
 * not one a minute).
 *
 * @example
 * shouldRecord(null, 'hold', false); // true (the first look)
 * shouldRecord(last, 'hold', false); // false when last.decision was 'hold'
 */
export function shouldRecord(
  last: Pick<StoredVerdict, 'decision' | 'stageIndex'> | null,
  verdict: Pick<Verdict, 'decision'> & { readonly stageIndex: number },
  stateChanged: boolean,
): boolean {
  if (stateChanged) return true;
  if (last === null) return true;
  return last.decision !== verdict.decision || last.stageIndex !== verdict.stageIndex;
}

/** The state a verdict leads to from `state` (halt and complete are final; hold changes nothing). */
export function nextState(
  state: HealthState,
  decision: Verdict['decision'],
  atLastStage: boolean,
): HealthState {
  if (state === 'halted' || state === 'completed') return state;
  switch (decision) {
    case 'halt':
      return 'halted';
    case 'advance':
      return atLastStage ? 'completed' : 'running';
    case 'await_confirmation':
      return 'awaiting_confirmation';
    case 'hold':
      return state;
  }
}

const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Thai}]/u;
const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The keywords a feedback text matches, case-insensitively. A keyword with CJK (or Thai)
 * characters matches as a substring (those scripts do not separate words); any other keyword
 * must start at a word boundary and end at one, allowing an English inflection (`crash` matches
 * "Crashed!" and "crashes" but not "smash" or "crashpad").
 *
 * @example
 * matchKeywords('App crashed on login', ['crash', 'login']); // ['crash', 'login']
 * matchKeywords('打开就闪退了', ['闪退']); // ['闪退']
 */
export function matchKeywords(text: string, keywords: readonly string[]): string[] {
  const hits: string[] = [];
  const lower = text.toLocaleLowerCase();
  for (const keyword of keywords) {
    const k = keyword.trim().toLocaleLowerCase();
    if (k === '') continue;
    let hit: boolean;
    if (CJK.test(k)) {
      hit = lower.includes(k);
    } else {
      const re = new RegExp(`(?<![\\p{L}\\p{N}_])${escape(k)}(?:s|es|ed|d|ing)?(?![\\p{L}\\p{N}_])`, 'u');
      hit = re.test(lower);
    }
    if (hit) hits.push(keyword);
  }
  return hits;
}
