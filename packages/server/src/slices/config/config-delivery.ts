/**
 * Turning evaluations into wire bytes: the `/client/v1/config` body, OFREP flag objects, and
 * ETags computed from the bytes of *this device's* answer.
 */
import { createHash } from 'node:crypto';
import type { Evaluation } from '@halftone/core';
import type { EnvState } from './config-index.js';

// Fixed-value evaluations are shared, frozen objects: their JSON is built once.
const valueJsonMemo = new WeakMap<Evaluation, string>();
const ofrepJsonMemo = new WeakMap<Evaluation, string>();

function valueJson(e: Evaluation): string {
  let json = valueJsonMemo.get(e);
  if (json === undefined) {
    json = JSON.stringify(e.value ?? null);
    if (Object.isFrozen(e)) valueJsonMemo.set(e, json);
  }
  return json;
}

/**
 * The `/client/v1/config` body for one device: `{"values":{key:value…}}`, plus
 * `"variants":{key:name…}` for items that delivered a named variant.
 */
export function deviceConfigJson(state: EnvState, evals: readonly Evaluation[]): string {
  let values = '';
  let variants = '';
  for (let i = 0; i < evals.length; i++) {
    const e = evals[i] as Evaluation;
    const k = state.keyJson[i] as string;
    values += (i === 0 ? '' : ',') + k + valueJson(e);
    if (e.variant !== undefined) variants += (variants === '' ? '' : ',') + k + JSON.stringify(e.variant);
  }
  return variants === '' ? `{"values":{${values}}}` : `{"values":{${values}},"variants":{${variants}}}`;
}

/** A strong ETag of a response body (128 bits of its SHA-1). */
export function etagOf(body: string): string {
  return `"${createHash('sha1').update(body).digest('base64url').slice(0, 22)}"`;
}

/** Whether an `If-None-Match` header names `etag` (or `*`); weak comparison, as for GET. */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined || header === '') return false;
  const bare = etag.replace(/^W\//, '');
  for (const raw of header.split(',')) {
    const t = raw.trim().replace(/^W\//, '');
    if (t === '*' || t === bare) return true;
  }
  return false;
}

/** OFREP's HTTP status for an evaluation error of a single-flag request. */
export function ofrepErrorStatus(e: Evaluation): number {
  return e.errorCode === 'FLAG_NOT_FOUND' ? 404 : 400;
}

/**
 * One OFREP evaluation object: success `{key, reason, variant?, value, metadata?}` or failure
 * `{key, errorCode, errorDetails?}`. Reasons: STATIC, TARGETING_MATCH, SPLIT, DISABLED, DEFAULT.
 */
export function ofrepFlagJson(e: Evaluation): string {
  let json = ofrepJsonMemo.get(e);
  if (json !== undefined) return json;
  if (e.reason === 'ERROR') {
    json = JSON.stringify({
      key: e.key,
      errorCode: e.errorCode ?? 'GENERAL',
      ...(e.errorDetails !== undefined ? { errorDetails: e.errorDetails } : {}),
    });
  } else {
    json = JSON.stringify({
      key: e.key,
      reason: e.reason,
      ...(e.variant !== undefined ? { variant: e.variant } : {}),
      value: e.value ?? null,
      ...(e.ruleId !== undefined ? { metadata: { ruleId: e.ruleId } } : {}),
    });
  }
  if (Object.isFrozen(e)) ofrepJsonMemo.set(e, json);
  return json;
}

/** The `flags` array of an OFREP bulk answer. */
export function ofrepFlagsJson(evals: readonly Evaluation[]): string {
  let out = '';
  for (let i = 0; i < evals.length; i++) out += (i === 0 ? '' : ',') + ofrepFlagJson(evals[i] as Evaluation);
  return `[${out}]`;
}
