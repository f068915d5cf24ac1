/**
 * Binary deltas between package versions: Halftone's own HDiffPatch-class engine (suffix array,
 * covers plus byte differences, one deflated diff stream) and a pure-TS patcher that runs in
 * Node, browsers and React Native Hermes. The patch format is described in FORMAT.md.
 */
export { DeltaError, type DeltaErrorCode } from './delta-error.js';
export type { PackageFile, Sha256Hex } from './package-model.js';
export { createDelta, createBufferDelta, type DeltaOptions } from './create-delta.js';
export {
  applyDeltaFiles,
  applyDelta,
  applyBufferDelta,
  readDeltaInfo,
  type ApplyOptions,
  type DeltaInfo,
} from './apply-delta.js';
