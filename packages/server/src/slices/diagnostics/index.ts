// The diagnostics slice's import surface (house style §8.3): the service, the delivery feed the
// client check reads, the routes and the wire schemas. Adapters are named only by the slice
// factory, which compose.ts calls.
export type {
  DiagnosticCommand,
  DiagnosticKind,
  DiagnosticState,
  TargetType,
} from './diagnostic-command.js';
export { effectiveState, stateHistory } from './diagnostic-command.js';
export type { DiagnosticsFeed } from './diagnostics-feed.js';
export { DiagnosticsService } from './diagnostics-service.js';
export { DeviceCommand } from './diagnostics-schemas.js';
export { diagnosticsAdminRoutes, diagnosticsClientRoutes } from './diagnostics-routes.js';
export { createDiagnosticsSlice, DIAGNOSTICS_CHANGED, type DiagnosticsSlice } from './create-diagnostics-slice.js';
