import { createHash } from 'node:crypto';
import {
  type CompiledConfigSet,
  compileConfigSet,
  type ConfigType,
  type EvalContext,
  type Evaluation,
} from '@halftone/core';
import type { AppService } from '../apps/app-service.js';
import type { ConfigEnv } from './config-model.js';
import { qualifiedKey, toCoreItem } from './config-model.js';
import type { ConfigStore } from './config-store.js';

/** A compiled environment of an app: everything a device request needs, in memory. */
export interface EnvState {
  readonly appId: string;
  readonly env: ConfigEnv;
  readonly set: CompiledConfigSet;
  /** Qualified keys in delivery order, and `"key":` for each (JSON fragments). */
  readonly keys: readonly string[];
  readonly keyJson: readonly string[];
  readonly types: ReadonlyMap<string, ConfigType>;
  /** Module → the qualified keys of the switches bound to it (production only is read by the check). */
  readonly moduleSwitches: ReadonlyMap<string, readonly string[]>;
  /** The secret part of this environment's event stream URL. */
  readonly streamToken: string;
}

/** Who a device is, as far as config targeting goes (its crowds are looked up by the index). */
export interface ConfigDevice {
  readonly deviceId?: string | undefined;
  readonly userId?: string | undefined;
  readonly appVersion?: string | undefined;
  readonly platform?: string | undefined;
  readonly osVersion?: string | undefined;
  readonly channel?: string | undefined;
  readonly region?: string | undefined;
  readonly deviceModel?: string | undefined;
  readonly cpu?: string | undefined;
  readonly remoteAddress?: string | undefined;
  readonly attributes?: Readonly<Record<string, string | number | boolean>> | undefined;
}

const NO_SEGMENTS: ReadonlySet<string> = new Set();

export interface ConfigIndexDeps {
  readonly store: Pick<ConfigStore, 'listItems' | 'listEnvKeys'>;
  readonly apps: Pick<AppService, 'getApp' | 'listCrowds'>;
  /** The production key → app lookup of the client API (in memory). */
  readonly productionAppForKey: (clientKey: string) => string | undefined;
  /** The client key of an environment (a missing test key is created). */
  readonly keyOf: (appId: string, env: ConfigEnv) => Promise<string>;
}

/**
 * The config delivery read model: each app environment compiled once (compileConfigSet) and kept
 * until something in it changes; crowd memberships per app; the client keys of every environment.
 * A device request never touches the database once its environment is warm.
 */
export class ConfigIndex {
  readonly #d: ConfigIndexDeps;
  readonly #states = new Map<string, EnvState>();
  readonly #building = new Map<string, Promise<EnvState>>();
  readonly #generation = new Map<string, number>();
  readonly #members = new Map<string, ReadonlyMap<string, ReadonlySet<string>>>();
  readonly #membersBuilding = new Map<string, Promise<ReadonlyMap<string, ReadonlySet<string>>>>();
  readonly #membersGeneration = new Map<string, number>();
  /** Non-production client key → app and environment. */
  #envKeys = new Map<string, { appId: string; env: ConfigEnv }>();

  constructor(deps: ConfigIndexDeps) {
    this.#d = deps;
  }

  /** Loads the client keys of non-production environments. Call once at start. */
  async loadKeys(): Promise<void> {
    const keys = new Map<string, { appId: string; env: ConfigEnv }>();
    for (const k of await this.#d.store.listEnvKeys()) keys.set(k.clientKey, { appId: k.appId, env: k.env as ConfigEnv });
    this.#envKeys = keys;
  }

  /** Learns a newly created environment key (from this process or the bus). */
  addKey(appId: string, env: ConfigEnv, clientKey: string): void {
    this.#envKeys.set(clientKey, { appId, env });
  }

  /** The app and environment of a client key, from memory. */
  resolveKey(clientKey: string): { appId: string; env: ConfigEnv } | undefined {
    const env = this.#envKeys.get(clientKey);
    if (env !== undefined) return env;
    const appId = this.#d.productionAppForKey(clientKey);
    return appId === undefined ? undefined : { appId, env: 'production' };
  }

  /** Drops a compiled environment; the next request rebuilds it. */
  invalidate(appId: string, env: string): void {
    const id = `${appId}\u0000${env}`;
    this.#generation.set(id, (this.#generation.get(id) ?? 0) + 1);
    this.#states.delete(id);
    this.#building.delete(id);
  }

  /** Crowds of an app changed (or anything of the app: the catalogue notice is coarse). */
  invalidateCrowds(appId: string): void {
    this.#membersGeneration.set(appId, (this.#membersGeneration.get(appId) ?? 0) + 1);
    this.#members.delete(appId);
    this.#membersBuilding.delete(appId);
  }

  /** The compiled environment (synchronous when warm). */
  state(appId: string, env: ConfigEnv): EnvState | Promise<EnvState> {
    const id = `${appId}\u0000${env}`;
    const warm = this.#states.get(id);
    if (warm !== undefined) return warm;
    let building = this.#building.get(id);
    if (building === undefined) {
      const generation = this.#generation.get(id) ?? 0;
      building = this.#build(appId, env).then((state) => {
        if ((this.#generation.get(id) ?? 0) === generation) {
          this.#states.set(id, state);
          this.#building.delete(id);
        }
        return state;
      });
      building.catch(() => this.#building.delete(id));
      this.#building.set(id, building);
    }
    return building;
  }

  /** id (device or user) → the app's crowds that list it (synchronous when warm). */
  members(appId: string): ReadonlyMap<string, ReadonlySet<string>> | Promise<ReadonlyMap<string, ReadonlySet<string>>> {
    const warm = this.#members.get(appId);
    if (warm !== undefined) return warm;
    let building = this.#membersBuilding.get(appId);
    if (building === undefined) {
      const generation = this.#membersGeneration.get(appId) ?? 0;
      building = this.#d.apps.listCrowds(appId).then((crowds) => {
        const m = new Map<string, Set<string>>();
        for (const c of crowds) {
          for (const id of c.members) {
            let s = m.get(id);
            if (s === undefined) m.set(id, (s = new Set()));
            s.add(c.name);
          }
        }
        if ((this.#membersGeneration.get(appId) ?? 0) === generation) {
          this.#members.set(appId, m);
          this.#membersBuilding.delete(appId);
        }
        return m;
      });
      building.catch(() => this.#membersBuilding.delete(appId));
      this.#membersBuilding.set(appId, building);
    }
    return building;
  }

  /**
   * The evaluator's context for a device: its fields in one fixed shape (monomorphic reads) and
   * the crowds its device id and user id are in.
   */
  context(members: ReadonlyMap<string, ReadonlySet<string>>, d: ConfigDevice): EvalContext {
    const byDevice = d.deviceId === undefined ? undefined : members.get(d.deviceId);
    const byUser = d.userId === undefined || d.userId === '' ? undefined : members.get(d.userId);
    let segments: ReadonlySet<string> = NO_SEGMENTS;
    if (byDevice !== undefined && byUser !== undefined) segments = new Set([...byDevice, ...byUser]);
    else segments = byDevice ?? byUser ?? NO_SEGMENTS;
    return {
      deviceId: d.deviceId,
      userId: d.userId === '' ? undefined : d.userId,
      appVersion: d.appVersion,
      platform: d.platform,
      osVersion: d.osVersion,
      channel: d.channel,
      region: d.region,
      deviceModel: d.deviceModel,
      cpu: d.cpu,
      remoteAddress: d.remoteAddress,
      segments,
      attributes: d.attributes,
      now: undefined,
    };
  }

  async #build(appId: string, env: ConfigEnv): Promise<EnvState> {
    const [clientKey, items] = await Promise.all([this.#d.keyOf(appId, env), this.#d.store.listItems(appId, env)]);
    const core = items.map(toCoreItem);
    const set = compileConfigSet(core);
    const keys = core.map((i) => i.key);
    const moduleSwitches = new Map<string, string[]>();
    for (const i of items) {
      if (i.module === null) continue;
      const list = moduleSwitches.get(i.module) ?? [];
      list.push(qualifiedKey(i.namespace, i.key));
      moduleSwitches.set(i.module, list);
    }
    return {
      appId,
      env,
      set,
      keys,
      keyJson: keys.map((k) => `${JSON.stringify(k)}:`),
      types: new Map(core.map((i) => [i.key, i.type])),
      moduleSwitches,
      streamToken: streamTokenOf(clientKey),
    };
  }
}

/** The token in an environment's event stream URL: derived from its client key, not reversible. */
export function streamTokenOf(clientKey: string): string {
  return createHash('sha256').update(`halftone-config-stream:${clientKey}`).digest('base64url').slice(0, 32);
}

/** Whether an evaluation turns a module switch off (a kill switch reads `false`; errors do not kill). */
export function isSwitchedOff(e: Evaluation): boolean {
  return e.reason !== 'ERROR' && e.value === false;
}
