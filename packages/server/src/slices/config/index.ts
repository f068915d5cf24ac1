// The config slice's import surface (house style §8.3): the service, the delivery index, the
// routes, the module-switch gate the release check reads and the slice factory. Adapters are
// named only by the slice factory, which compose.ts calls.
export { ConfigService, type ConfigItemPatch, type ConfigDiff } from './config-service.js';
export { ConfigIndex } from './config-index.js';
export { ConfigStreams } from './config-streams.js';
export { CONFIG_ENVS, type ConfigEnv, qualifiedKey } from './config-model.js';
export { configAdminRoutes, configClientRoutes, ofrepRoutes } from './config-routes.js';
export type { ModuleGate, ModuleSwitches } from './module-switches.js';
export { createConfigSlice, CONFIG_CHANGED, type ConfigSlice } from './create-config-slice.js';
