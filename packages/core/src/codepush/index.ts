/** CodePush compatibility: the original rollout selector, appVersion normalisation, release selection. */
export * from './app-version.js';
export * from './rollout-selector.js';
export * from './select.js';
