/**
 * The config slice's domain model: an item as stored per app, environment and namespace, and how
 * it maps to the pure evaluator's `ConfigItem` (@halftone/core).
 */
import type { ConfigDependency, ConfigItem, ConfigRule, ConfigType } from '@halftone/core';

/** The environments every app has; each has its own values and client key. */
export const CONFIG_ENVS = ['test', 'production'] as const;
export type ConfigEnv = (typeof CONFIG_ENVS)[number];

/** The namespace of items created without one. */
export const DEFAULT_NAMESPACE = 'default';

/** Item keys: what devices and OFREP clients name (no `:`, which separates a namespace). */
export const ITEM_KEY_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$';
export const NAMESPACE_PATTERN = '^[a-z0-9][a-z0-9._-]{0,63}$';

/** Everything about an item that is its content (what a promote copies and a diff compares). */
export interface ConfigItemContent {
  readonly namespace: string;
  readonly key: string;
  readonly type: ConfigType;
  readonly kind: 'config' | 'switch';
  readonly enabled: boolean;
  readonly defaultValue: unknown;
  /** Delivered while the item is disabled; default `false` for booleans, else the default value. */
  readonly offValue?: unknown;
  readonly description: string;
  readonly owner: string;
  readonly tags: readonly string[];
  readonly rules: readonly ConfigRule[];
  readonly dependsOn: readonly ConfigDependency[];
  /** A switch bound to a package module: while it is off for a device, the check answers `disable`. */
  readonly module: string | null;
}

/** An item as stored: its content in one environment of one app, with its revision. */
export interface StoredConfigItem extends ConfigItemContent {
  readonly appId: string;
  readonly env: string;
  readonly revision: number;
  readonly updatedAt: string;
  readonly updatedBy: string;
}

/**
 * The name devices and OFREP clients see: the key in the default namespace, `namespace:key`
 * elsewhere (keys never contain `:`). Dependencies name items this way too.
 *
 * @example
 * qualifiedKey('default', 'dark-mode'); // 'dark-mode'
 * qualifiedKey('checkout', 'dark-mode'); // 'checkout:dark-mode'
 */
export function qualifiedKey(namespace: string, key: string): string {
  return namespace === DEFAULT_NAMESPACE ? key : `${namespace}:${key}`;
}

/** The evaluator's view of an item (qualified key). */
export function toCoreItem(item: ConfigItemContent): ConfigItem {
  return {
    key: qualifiedKey(item.namespace, item.key),
    type: item.type,
    kind: item.kind,
    enabled: item.enabled,
    defaultValue: item.defaultValue,
    ...(item.offValue !== undefined ? { offValue: item.offValue } : {}),
    rules: item.rules,
    ...(item.dependsOn.length > 0 ? { dependsOn: item.dependsOn } : {}),
  };
}

/** The content of a stored item (what revisions, audit entries and diffs hold). */
export function contentOf(item: ConfigItemContent): ConfigItemContent {
  return {
    namespace: item.namespace,
    key: item.key,
    type: item.type,
    kind: item.kind,
    enabled: item.enabled,
    defaultValue: item.defaultValue,
    ...(item.offValue !== undefined ? { offValue: item.offValue } : {}),
    description: item.description,
    owner: item.owner,
    tags: item.tags,
    rules: item.rules,
    dependsOn: item.dependsOn,
    module: item.module,
  };
}

/** JSON with object keys sorted, so equal contents compare equal as text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v as object).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}

/** Whether two items have the same content (revision and timestamps aside). */
export function sameContent(a: ConfigItemContent, b: ConfigItemContent): boolean {
  return canonicalJson(contentOf(a)) === canonicalJson(contentOf(b));
}
