/**
 * Dynamic config items and switches: the pure evaluator (see `README.md` in this folder).
 */
export * from './types.js';
export * from './validate.js';
export * from './dependencies.js';
export * from './split.js';
export * from './compile.js';
