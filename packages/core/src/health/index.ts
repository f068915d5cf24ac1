/**
 * The pure health-judgement engine: release templates, stage verdicts, circuit breakers and the
 * statistics under them. See `README.md` in this folder.
 */
export * from './types.js';
export * from './stats.js';
export * from './template.js';
export * from './judge.js';
export * from './breakers.js';
