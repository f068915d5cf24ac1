export { composeGatewayRole, composeHalftone, type GatewayRole, type Halftone, type ComposeOptions } from './compose.js';
export {
  serve,
  serveGateway,
  type RunningGateway,
  type RunningHalftone,
  type ServeGatewayOptions,
  type ServeOptions,
} from './serve.js';
export { loadConfig, describeConfig } from './platform/config/load-config.js';
export type { Config } from './platform/config/config-schema.js';
export { VERSION } from './version.js';
