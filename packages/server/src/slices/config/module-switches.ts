import type { DeviceContext } from '@halftone/core';
import { type ConfigIndex, isSwitchedOff } from './config-index.js';

/**
 * What the release check asks of the config slice: for one app, is a module switched off for a
 * device? A switch is bound to a module by its `module` field; the production environment counts.
 * `null` when the app binds no switch to any module (the check then pays one map lookup).
 *
 * @example
 * const gate = await switches.gate('shop');
 * if (gate?.modules.has('home') && gate.isOff('home', ctx)) answer('disable');
 */
export interface ModuleGate {
  readonly modules: ReadonlySet<string>;
  isOff(module: string, ctx: DeviceContext): boolean;
}

export interface ModuleSwitches {
  gate(appId: string): ModuleGate | null | Promise<ModuleGate | null>;
}

/** The check's view of module switches, from the config delivery index (memory once warm). */
export function createModuleSwitches(index: ConfigIndex): ModuleSwitches {
  const gates = new WeakMap<object, WeakMap<object, ModuleGate | null>>();
  const make = (appId: string, state: Awaited<ReturnType<ConfigIndex['state']>>, members: ReadonlyMap<string, ReadonlySet<string>>): ModuleGate | null => {
    if (state.moduleSwitches.size === 0) return null;
    return {
      modules: new Set(state.moduleSwitches.keys()),
      isOff(module, ctx) {
        const keys = state.moduleSwitches.get(module);
        if (keys === undefined) return false;
        const ectx = index.context(members, ctx);
        for (const k of keys) if (isSwitchedOff(state.set.evaluate(k, ectx))) return true;
        return false;
      },
    };
  };
  const gateOf = (appId: string, state: Awaited<ReturnType<ConfigIndex['state']>>, members: ReadonlyMap<string, ReadonlySet<string>>): ModuleGate | null => {
    // One gate per (compiled state, membership): both are replaced, never mutated, on change.
    let byMembers = gates.get(state);
    if (byMembers === undefined) {
      byMembers = new WeakMap();
      gates.set(state, byMembers);
    }
    let gate = byMembers.get(members);
    if (gate === undefined) {
      gate = make(appId, state, members);
      byMembers.set(members, gate);
    }
    return gate;
  };
  return {
    gate(appId) {
      const state = index.state(appId, 'production');
      const members = index.members(appId);
      if (!(state instanceof Promise) && !(members instanceof Promise)) return gateOf(appId, state, members);
      return Promise.all([state, members]).then(([s, m]) => gateOf(appId, s, m));
    },
  };
}
