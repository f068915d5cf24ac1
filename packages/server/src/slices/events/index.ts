// The events slice's import surface (house style §8.3): the service, its query shapes and the
// routes. Adapters are named only by compose.ts.
export type { CohortHealth, HealthCounts, HealthQuery, IngestResult } from './events-service.js';
export { EventsService, correctTimestamp, parseTimestamp } from './events-service.js';
export type { CrashGroupStat, EventsStore } from './events-store.js';
export { crashFingerprint } from './crash-fingerprint.js';
export { eventsAdminRoutes, eventsClientRoutes } from './events-routes.js';
