export { composeHalftone, type Halftone, type ComposeOptions } from './compose.js';
export { serve, type ServeOptions, type RunningHalftone } from './serve.js';
export { loadConfig, describeConfig } from './platform/config/load-config.js';
export type { Config } from './platform/config/config-schema.js';
export { VERSION } from './version.js';
