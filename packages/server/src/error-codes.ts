// The complete error catalogue: importing this module loads every module that calls
// `defineError`, so `errorCatalogue()` lists every code the server can answer with.
// error-catalogue.test.ts checks that list against docs/errors.md.
//
// Each slice adds one line for its `*-errors.ts`, e.g. `import './slices/apps/app-errors.js';`.
import './platform/errors/platform-errors.js';
import './slices/apps/app-errors.js';
import './slices/client/client-errors.js';
import './slices/codepush/codepush-errors.js';
import './slices/config/config-errors.js';
import './slices/delta/delta-errors.js';
import './slices/diagnostics/diagnostics-errors.js';
import './slices/events/events-errors.js';
import './slices/gateway/gateway-errors.js';
import './slices/health/health-errors.js';
import './slices/packages/archive-errors.js';
import './slices/packages/package-errors.js';
import './slices/releases/release-errors.js';

export { errorCatalogue, RETIRED_CODES } from './platform/errors/halftone-error.js';
