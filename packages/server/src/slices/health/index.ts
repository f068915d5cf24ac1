// The health slice's import surface (house style §8.3): the service and its views, the clock
// control, the routes and the slice factory. The SQL adapter is named only here and by compose.
export type {
  BreakerView,
  FeedbackNotice,
  HealthPolicyInput,
  PassResult,
  ReleaseHealthView,
} from './health-service.js';
export { HealthService } from './health-service.js';
export type { ClockControl } from './health-clock.js';
export { createClockControl } from './health-clock.js';
export { healthRoutes } from './health-routes.js';
export { createHealthSlice, type HealthSlice } from './create-health-slice.js';
export { matchKeywords, releaseTargetFor, shouldRecord } from './health-logic.js';
export { signature as webhookSignature } from './health-webhooks.js';
