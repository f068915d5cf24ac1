/** The pure diversion engine of Halftone's gray gateway (ABTestingGateway-compatible). */
export * from './types.js';
export * from './features.js';
export * from './validate.js';
export * from './compile.js';
