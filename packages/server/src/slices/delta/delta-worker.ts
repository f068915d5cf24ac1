// A worker thread of the delta pool: computes one patch per message, off the event loop.
import { parentPort } from 'node:worker_threads';
import { computePatch, type DeltaJobInput } from './delta-compute.js';

parentPort?.on('message', (msg: { id: number; input: DeltaJobInput }) => {
  computePatch(msg.input).then(
    (patch) => parentPort?.postMessage({ id: msg.id, patch }, [patch.buffer as ArrayBuffer]),
    (err: unknown) =>
      parentPort?.postMessage({ id: msg.id, error: err instanceof Error ? err.message : String(err) }),
  );
});
