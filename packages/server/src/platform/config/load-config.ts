import { KindGuard, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { HalftoneErrorField } from '../errors/halftone-error.js';
import { configInvalid } from '../errors/platform-errors.js';
import {
  type Config,
  type ConfigField,
  type ConfigOverrides,
  type ConfigShape,
  configFields,
  FORMAT_HINTS,
} from './config-schema.js';

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** Environment to read `HALFTONE_*` variables from; defaults to `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Values that win over the environment (CLI flags, tests). */
  readonly overrides?: ConfigOverrides;
}

type Source = 'default' | 'env' | 'override';

interface Resolved {
  readonly field: ConfigField;
  readonly source: Source;
  readonly value: unknown;
}

const DATA_DIR_PLACEHOLDER = '{dataDir}';
const REDACTED = '[redacted]';

/** Replaces the password of `scheme://user:password@host` URLs; other strings pass unchanged. */
function redactUrlPassword(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*:)[^/?#@]*@/i, '$1***@');
}

function where(entry: Resolved): string {
  switch (entry.source) {
    case 'env':
      return entry.field.env;
    case 'override':
      return `${entry.field.key} (override)`;
    default:
      return `${entry.field.key} (default)`;
  }
}

function shown(entry: Resolved): string {
  if (entry.field.secret) return '';
  const text =
    typeof entry.value === 'string' ? redactUrlPassword(entry.value) : String(entry.value);
  return `, got ${JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text)}`;
}

function literalValues(schema: TSchema): string[] | undefined {
  if (!KindGuard.IsUnion(schema)) return undefined;
  const values: string[] = [];
  for (const member of schema.anyOf) {
    if (!KindGuard.IsLiteral(member)) return undefined;
    values.push(String(member.const));
  }
  return values;
}

/** Parses an environment string into the leaf's type, strictly; `undefined` when impossible. */
function parseEnv(schema: TSchema, raw: string): { value: unknown } | undefined {
  if (KindGuard.IsInteger(schema)) {
    if (!/^-?\d+$/.test(raw)) return undefined;
    const value = Number(raw);
    return Number.isSafeInteger(value) ? { value } : undefined;
  }
  if (KindGuard.IsNumber(schema)) {
    if (!/^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(raw)) return undefined;
    return { value: Number(raw) };
  }
  if (KindGuard.IsBoolean(schema)) {
    if (raw === 'true' || raw === '1') return { value: true };
    if (raw === 'false' || raw === '0') return { value: false };
    return undefined;
  }
  if (KindGuard.IsRecord(schema)) {
    try {
      return { value: JSON.parse(raw) as unknown };
    } catch {
      return undefined;
    }
  }
  if (KindGuard.IsArray(schema)) {
    if (raw.trim().startsWith('[')) {
      try {
        return { value: JSON.parse(raw) as unknown };
      } catch {
        return undefined;
      }
    }
    return { value: raw.split(',').map((s) => s.trim()).filter((s) => s !== '') };
  }
  return { value: raw };
}

function typeName(schema: TSchema): string {
  if (KindGuard.IsInteger(schema)) return 'an integer';
  if (KindGuard.IsNumber(schema)) return 'a number';
  if (KindGuard.IsBoolean(schema)) return 'true or false';
  if (KindGuard.IsRecord(schema)) return 'a JSON object';
  if (KindGuard.IsArray(schema)) return 'a JSON array or a comma-separated list';
  return 'a string';
}

function checkLeaf(entry: Resolved): string | undefined {
  const { schema } = entry.field;
  if (Value.Check(schema, entry.value)) return undefined;
  const literals = literalValues(schema);
  if (literals !== undefined) return `must be one of ${literals.join(', ')}${shown(entry)}`;
  const first = Value.Errors(schema, entry.value).First();
  const format = typeof first?.schema.format === 'string' ? FORMAT_HINTS[first.schema.format] : undefined;
  let message =
    first === undefined ? 'is invalid' : (format ?? first.message.replace(/^Expected/, 'expected'));
  // Name the offending element of a list (never for secrets).
  if (first !== undefined && first.path !== '' && !entry.field.secret && typeof first.value === 'string') {
    message = `entry ${JSON.stringify(first.value)} ${format ?? `(at ${first.path}) ${message}`}`;
  }
  return `${message}${shown(entry)}`;
}

function getPath(source: unknown, path: readonly string[]): unknown {
  let node = source;
  for (const segment of path) {
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, segment))
      return undefined;
    node = (node as Record<string, unknown>)[segment];
  }
  return node;
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const segment of path.slice(0, -1)) {
    node[segment] ??= {};
    node = node[segment] as Record<string, unknown>;
  }
  const last = path[path.length - 1];
  if (last !== undefined) node[last] = value;
}

/** Keys of `overrides` that are not in the schema, as dotted paths. */
function unknownOverrideKeys(overrides: unknown, fields: readonly ConfigField[]): string[] {
  const known = new Set(fields.map((f) => f.key));
  const groups = new Set(fields.filter((f) => f.path.length > 1).map((f) => f.path[0]));
  const unknown: string[] = [];
  const walk = (node: unknown, prefix: string[]) => {
    if (typeof node !== 'object' || node === null) return;
    for (const key of Object.keys(node)) {
      const path = [...prefix, key];
      const dotted = path.join('.');
      if (known.has(dotted)) continue;
      if (prefix.length === 0 && groups.has(key))
        walk((node as Record<string, unknown>)[key], path);
      else unknown.push(dotted);
    }
  };
  walk(overrides, []);
  return unknown;
}

function scheme(url: string): string {
  return /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase() ?? '';
}

function isParsableUrl(url: string): boolean {
  try {
    new URL(url);
    return true;
  } catch {
    return false;
  }
}

/** Known URL schemes per field; each returns a problem or undefined. */
const URL_CHECKS: Readonly<Record<string, (url: string) => string | undefined>> = {
  dbUrl: (url) => {
    const s = scheme(url);
    if (s === 'sqlite')
      return url.length > 'sqlite:'.length ? undefined : 'needs a path after sqlite:';
    if (s === 'postgres' || s === 'postgresql') {
      return isParsableUrl(url) ? undefined : 'is not a valid postgres:// URL';
    }
    return 'must start with sqlite:, postgres:// or postgresql://';
  },
  blobUrl: (url) => {
    const s = scheme(url);
    if (s === 'file')
      return url.length > 'file:'.length ? undefined : 'needs a directory after file:';
    if (s === 'memory') return url === 'memory:' ? undefined : 'must be exactly memory:';
    return 'must start with file: or be memory:';
  },
  busUrl: (url) => {
    const s = scheme(url);
    if (s === 'memory') return url === 'memory:' ? undefined : 'must be exactly memory:';
    if (s === 'redis' || s === 'rediss') {
      return isParsableUrl(url) ? undefined : 'is not a valid redis:// URL';
    }
    return 'must be memory: or start with redis:// or rediss://';
  },
  publicUrl: (url) => {
    const s = scheme(url);
    if ((s === 'http' || s === 'https') && isParsableUrl(url)) return undefined;
    return 'must be an http:// or https:// URL';
  },
};

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/**
 * Builds the server configuration: schema defaults, then `HALFTONE_*` environment variables,
 * then `overrides`. Everything is validated and every problem is collected; if there is any,
 * one `HT_CONFIG_INVALID` error lists them all in `detail` (one per line) and `fields`.
 * Numbers from the environment are parsed strictly: `"abc"` is an error, never a default.
 * An empty environment variable counts as unset. The result is deep-frozen.
 *
 * @example
 * const config = loadConfig({ env: process.env, overrides: { port: 0 } });
 */
export function loadConfig(opts: LoadConfigOptions = {}): Config {
  const env = opts.env ?? process.env;
  const overrides: unknown = opts.overrides ?? {};
  const fields = configFields();
  const problems: { pointer: string; message: string }[] = [];
  const report = (path: readonly string[], message: string) =>
    problems.push({ pointer: `/${path.join('/')}`, message });

  for (const key of unknownOverrideKeys(overrides, fields)) {
    report(key.split('.'), `${key} (override): is not a configuration setting`);
  }

  // 1. Resolve each leaf from its highest-priority source.
  const resolved: Resolved[] = [];
  for (const field of fields) {
    const override = getPath(overrides, field.path);
    if (override !== undefined) {
      resolved.push({ field, source: 'override', value: override });
      continue;
    }
    const raw = env[field.env];
    if (raw !== undefined && raw !== '') {
      const parsed = parseEnv(field.schema, raw);
      if (parsed === undefined) {
        const got = field.secret ? '' : `, got ${JSON.stringify(redactUrlPassword(raw))}`;
        report(field.path, `${field.env}: expected ${typeName(field.schema)}${got}`);
        continue;
      }
      resolved.push({ field, source: 'env', value: parsed.value });
      continue;
    }
    const fallback: unknown = field.schema.default;
    if (fallback !== undefined) resolved.push({ field, source: 'default', value: fallback });
    else if (!field.optional) report(field.path, `${field.env}: is required`);
  }

  // 2. Expand {dataDir} in the other string settings.
  const dataDirEntry = resolved.find((r) => r.field.key === 'dataDir');
  const dataDir = typeof dataDirEntry?.value === 'string' ? dataDirEntry.value : undefined;
  const entries = resolved.map((entry): Resolved => {
    if (entry.field.key === 'dataDir' || typeof entry.value !== 'string') return entry;
    if (!entry.value.includes(DATA_DIR_PLACEHOLDER) || dataDir === undefined) return entry;
    return {
      ...entry,
      value: entry.value.replaceAll(DATA_DIR_PLACEHOLDER, dataDir.replace(/\/+$/, '')),
    };
  });

  // 3. Validate each leaf against its schema, then the URL schemes.
  const valid = new Map<string, Resolved>();
  for (const entry of entries) {
    const problem = checkLeaf(entry);
    if (problem !== undefined) {
      report(entry.field.path, `${where(entry)}: ${problem}`);
      continue;
    }
    const urlCheck = URL_CHECKS[entry.field.key];
    const urlProblem = urlCheck === undefined ? undefined : urlCheck(entry.value as string);
    if (urlProblem !== undefined) {
      report(entry.field.path, `${where(entry)}: ${urlProblem}${shown(entry)}`);
      continue;
    }
    valid.set(entry.field.key, entry);
  }

  // 4. Checks across fields.
  const role = valid.get('role');
  if (role !== undefined && role.value !== 'all') {
    const need = (key: string, schemes: readonly string[], what: string) => {
      const entry = valid.get(key);
      if (entry === undefined) return;
      if (!schemes.includes(scheme(String(entry.value)))) {
        report(
          entry.field.path,
          `${where(entry)}: role ${String(role.value)} (${where(role)}) needs ${what}, since ` +
            'each role runs in its own process',
        );
      }
    };
    need('dbUrl', ['postgres', 'postgresql'], 'a postgres:// database');
    need('blobUrl', ['file'], 'blob storage shared between processes (not memory:)');
    need('busUrl', ['redis', 'rediss'], 'a redis:// bus');
  }

  if (problems.length > 0) {
    const fieldsOut: HalftoneErrorField[] = problems;
    throw configInvalid(undefined, {
      detail: problems.map((p) => p.message).join('\n'),
      fields: fieldsOut,
    });
  }

  const config: Record<string, unknown> = {};
  for (const entry of entries) setPath(config, entry.field.path, entry.value);
  return deepFreeze(config as ConfigShape) as Config;
}

/**
 * A copy of the configuration that is safe to log or show on a diagnostics endpoint: secret
 * settings (the admin token) are replaced by `[redacted]` and URL passwords by `***`.
 *
 * @example
 * app.log.info({ config: describeConfig(config) }, 'configuration');
 */
export function describeConfig(config: Config): Config {
  const copy: Record<string, unknown> = {};
  for (const field of configFields()) {
    const value = getPath(config, field.path);
    if (value === undefined) continue;
    let safe = value;
    if (field.secret) safe = REDACTED;
    else if (typeof value === 'string') safe = redactUrlPassword(value);
    setPath(copy, field.path, safe);
  }
  return deepFreeze(copy as ConfigShape) as Config;
}
