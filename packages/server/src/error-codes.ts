// The complete error catalogue: importing this module loads every module that calls
// `defineError`, so `errorCatalogue()` lists every code the server can answer with.
// error-catalogue.test.ts checks that list against docs/errors.md.
//
// Each slice adds one line for its `*-errors.ts`, e.g. `import './slices/apps/app-errors.js';`.
import './platform/errors/platform-errors.js';

export { errorCatalogue, RETIRED_CODES } from './platform/errors/halftone-error.js';
