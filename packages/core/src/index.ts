/**
 * `@halftone/core`: the pure domain everything a device depends on (versions, targeting rules,
 * sticky bucketing, content identity). No I/O and no Node-only API: it runs in Node, browsers
 * and React Native Hermes alike.
 */
export * from './context.js';
export * from './rule-types.js';
export * from './version.js';
export * from './utf8.js';
export * from './murmur3.js';
export * from './bucket.js';
export * from './rules.js';
export * from './content-hash.js';
export * from './decide.js';
export * from './delta/index.js';
export * from './gateway/index.js';
export * from './health/index.js';
export * from './codepush/index.js';
export * from './config/index.js';
